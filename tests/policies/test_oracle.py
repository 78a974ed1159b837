"""The oracle: earliest exit that matches the final prediction or the gold label; never deployable."""

import pytest
import torch

from epee.policies import OraclePolicy, make_policy, oracle_exits, simulate


def logits_for(predicted):
    """[exits, batch, classes=3] with the given argmax per exit (rows) and sample (columns)."""
    return torch.nn.functional.one_hot(torch.tensor(predicted), 3).float() * 4


# exit by exit predictions of 3 samples: sample 0 -> 1, 0, 0; sample 1 -> 2, 2, 2; sample 2 -> 0, 1, 2
LAYER_LOGITS = logits_for([[1, 2, 0], [0, 2, 1], [0, 2, 2]])


def test_final_reference():
    result = oracle_exits(LAYER_LOGITS, multi_label=False)
    assert result.exit_index.tolist() == [1, 0, 2]
    assert torch.equal(result.logits, LAYER_LOGITS[[1, 0, 2], [0, 1, 2]])


def test_gold_reference_falls_back_to_the_last_exit():
    result = oracle_exits(LAYER_LOGITS, multi_label=False, labels=torch.tensor([1, 0, 1]))
    assert result.exit_index.tolist() == [0, 2, 1]


def test_multi_label_oracle_compares_label_vectors():
    on_off = torch.tensor([[[1.0, -1.0]], [[1.0, 1.0]], [[1.0, 1.0]], [[-1.0, 1.0]]])  # [exits=4, batch=1, labels=2]
    assert oracle_exits(on_off, multi_label=True).exit_index.tolist() == [3]
    assert oracle_exits(on_off, multi_label=True, labels=torch.tensor([[1, 1]])).exit_index.tolist() == [1]


def test_oracle_is_not_deployable():
    policy = make_policy("oracle")
    assert isinstance(policy, OraclePolicy) and not policy.deployable
    with pytest.raises(ValueError, match="oracle_exits"):
        simulate(policy, LAYER_LOGITS, multi_label=False)
    with pytest.raises(ValueError, match="cannot run online"):
        policy.start(3, multi_label=False)
