"""Default grids come from the policy classes: EPEE's published 66 points, one grid per deployable policy."""

import pytest

from epee.calibrate import default_grids
from epee.policies import DEPLOYABLE_POLICIES, EPEEPolicy, PatiencePolicy, make_policy


def test_epee_grid_is_the_published_one():
    grid = EPEEPolicy.default_grid([0.4, 0.3, 0.2, 0.1])
    assert len(grid) == 66
    assert {point["tau"] for point in grid} == {0.001, 0.005, 0.01, 0.03, 0.05, 0.1}
    assert {point["patience"] for point in grid} == set(range(1, 12))


def test_every_deployable_policy_has_a_valid_default_grid():
    grids = default_grids(DEPLOYABLE_POLICIES, [0.4, 0.3, 0.2, 0.1])
    assert tuple(grids) == DEPLOYABLE_POLICIES
    for name, grid in grids.items():
        assert grid, name
        for params in grid:
            make_policy(name, **params)
    assert PatiencePolicy.default_grid([0.4, 0.3, 0.2, 0.1]) == [{"patience": 1}, {"patience": 2}, {"patience": 3}]


def test_a_policy_calibration_cannot_search_is_named_in_a_sentence():
    with pytest.raises(
        ValueError, match=r"Cannot calibrate policy 'pabee': Unknown exit policy 'pabee'; choose one of"
    ):
        default_grids(["pabee"], [0.4, 0.1])
    with pytest.raises(ValueError, match=r"Cannot calibrate policy 'oracle': it is an analysis bound"):
        default_grids(["oracle"], [0.4, 0.1])
