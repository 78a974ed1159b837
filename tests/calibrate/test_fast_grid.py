"""Calibration's fast path gives exactly the exits of simulate(), the step()-based definition."""

import pytest
import torch

from epee.calibrate import default_grids
from epee.calibrate.fast import FIRE_RULES, ExitTables, fast_exit_index
from epee.policies import DEPLOYABLE_POLICIES, make_policy, simulate

NUM_EXITS = 12


def test_every_deployable_policy_has_a_fast_rule():
    assert set(FIRE_RULES) == set(DEPLOYABLE_POLICIES)


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("name", DEPLOYABLE_POLICIES)
def test_fast_path_equals_simulate_over_the_default_grid(name, multi_label):
    generator = torch.Generator().manual_seed(11)
    scale = torch.linspace(0.5, 4.0, NUM_EXITS)[:, None, None]  # deeper exits are surer, as in trained models
    layer_logits = torch.randn(NUM_EXITS, 96, 5, generator=generator) * scale  # [exits, batch, classes]
    tables = ExitTables(layer_logits, multi_label)
    error_rates = [0.5 - 0.03 * index for index in range(NUM_EXITS)]
    grid = default_grids(error_rates)[name]
    if name == "fpabee":
        grid += [{"tau": 0.05, "patience": 2, "divergence": kind} for kind in ("reverse_kl", "symmetric_kl")]
    for params in grid:
        policy = make_policy(name, **params)
        expected = simulate(policy, layer_logits, multi_label=multi_label).exit_index
        assert torch.equal(fast_exit_index(policy, tables), expected), params
