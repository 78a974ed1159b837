"""Every registered policy keeps the contract of epee.policies.testing.check_policy, one test per check.

(batch == one row at a time, streaming == offline, falls back to the last exit, grid valid,
invalid parameters refused, JSON round trip, fast table rule == simulation; dynamic == simulation
is tests/runtime/test_dynamic_equals_simulation.py.)
"""

import pytest
import torch

from epee.policies import DEPLOYABLE_POLICIES, POLICIES, make_policy
from epee.policies.testing import policy_checks


@pytest.mark.parametrize(("policy", "check"), policy_checks())
def test_policy_keeps_the_contract(policy, check):
    check(policy)


def test_every_shipped_policy_is_registered_and_deployable_ones_are_swept_by_default():
    shipped = {name: policy for name, policy in POLICIES.items() if policy.__module__.startswith("epee.policies.")}
    assert set(DEPLOYABLE_POLICIES) == {name for name, policy in shipped.items() if policy.deployable}
    assert {name for name, policy in shipped.items() if not policy.deployable} == {"oracle"}


def test_select_by_mask_equals_select_by_index():
    policy = make_policy("epee", tau=0.3, patience=2)
    state = policy.start(5, multi_label=False)
    policy.step(state, 0, torch.randn(5, 3))
    mask = torch.tensor([True, False, True, True, False])
    by_mask, by_index = state.select(mask), state.select(torch.tensor([0, 2, 3]))
    assert by_mask.batch_size == by_index.batch_size == 3
    assert all(torch.equal(by_mask.tensors[key], by_index.tensors[key]) for key in state.tensors)


def test_step_rejects_logits_for_rows_that_already_left():
    policy = make_policy("patience", patience=2)
    state = policy.start(4, multi_label=False)
    with pytest.raises(ValueError, match=r"shape \[batch=4, classes\]"):
        policy.step(state, 0, torch.randn(3, 2))
