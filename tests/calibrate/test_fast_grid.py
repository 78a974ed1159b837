"""Calibration's fast path (each policy's fire_table) gives exactly the exits of simulate(), the definition.

check_policy checks this on 6 exits x 24 rows; here every registered policy's whole default grid
meets a 12-exit model on 96 rows, single- and multi-label.
"""

import pytest
import torch

from epee.policies import DEPLOYABLE_POLICIES, POLICIES, ExitTables, fast_exit_index, make_policy, simulate

NUM_EXITS = 12
DEPLOYABLE = [name for name, policy in POLICIES.items() if policy.deployable]


def layer_logits() -> torch.Tensor:
    generator = torch.Generator().manual_seed(11)
    scale = torch.linspace(0.5, 4.0, NUM_EXITS)[:, None, None]  # deeper exits are surer, as in trained models
    return torch.randn(NUM_EXITS, 96, 5, generator=generator) * scale  # [exits, batch, classes]


def test_every_shipped_policy_has_a_table_rule():
    tables = ExitTables(layer_logits(), multi_label=False)
    error_rates = [0.5 - 0.03 * index for index in range(NUM_EXITS)]
    for name in DEPLOYABLE_POLICIES:
        point = POLICIES[name].default_grid(error_rates)[0]
        assert make_policy(name, **point).fire_table(tables) is not None, name


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("name", DEPLOYABLE)
def test_fast_path_equals_simulate_over_the_default_grid(name, multi_label):
    logits = layer_logits()
    tables = ExitTables(logits, multi_label)
    error_rates = [0.5 - 0.03 * index for index in range(NUM_EXITS)]
    grid = POLICIES[name].default_grid(error_rates)
    if name == "fpabee":
        grid += [{"tau": 0.05, "patience": 2, "divergence": kind} for kind in ("reverse_kl", "symmetric_kl")]
    for params in grid:
        policy = make_policy(name, **params)
        expected = simulate(policy, logits, multi_label=multi_label).exit_index
        assert torch.equal(fast_exit_index(policy, tables), expected), params
