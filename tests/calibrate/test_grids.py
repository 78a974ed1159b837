"""Default grids: EPEE's published 66 points, and a grid for every deployable policy."""

import pytest

from epee.calibrate import default_grids, epee_grid
from epee.calibrate.grids import fpabee_grid, patience_grid
from epee.policies import DEPLOYABLE_POLICIES, make_policy


def test_epee_grid_is_the_published_one():
    grid = epee_grid()
    assert len(grid) == 66
    assert {point["tau"] for point in grid} == {0.001, 0.005, 0.01, 0.03, 0.05, 0.1}
    assert {point["patience"] for point in grid} == set(range(1, 12))


def test_every_deployable_policy_has_a_valid_default_grid():
    grids = default_grids([0.4, 0.3, 0.2, 0.1])
    assert set(grids) == set(DEPLOYABLE_POLICIES)
    for name, grid in grids.items():
        assert grid, name
        for params in grid:
            make_policy(name, **params)
    assert patience_grid(4) == [{"patience": 1}, {"patience": 2}, {"patience": 3}]


def test_grid_options_are_checked():
    with pytest.raises(ValueError, match="Unknown divergence 'cross_entropy'"):
        fpabee_grid(divergences=("js", "cross_entropy"))
