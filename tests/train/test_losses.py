"""Exact values of the joint exit loss on hand-made logits."""

import math

import pytest
import torch

from epee.train.losses import JointExitLoss, balanced_class_weights, depth_weights
from epee.train.settings import TrainingSettings


def test_asc_weights_are_i_over_sum_i():
    torch.testing.assert_close(depth_weights("asc", 3), torch.tensor([1 / 6, 2 / 6, 3 / 6]))
    torch.testing.assert_close(depth_weights("uniform", 2), torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(depth_weights("asc_last_half", 6), torch.tensor([1, 2, 3, 4, 5, 15]) / 30)
    torch.testing.assert_close(depth_weights("asc_last_half", 2), torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(depth_weights("asc_last_half", 1), torch.tensor([1.0]))
    torch.testing.assert_close(depth_weights([1.0, 3.0], 2), torch.tensor([0.25, 0.75]))
    with pytest.raises(ValueError, match="Got 3 depth weights for a model with 2 exits"):
        depth_weights([1.0, 1.0, 1.0], 2)


def test_joint_loss_is_weighted_sum_of_cross_entropies():
    # exit 0 uniform over 2 classes: CE = ln 2; exit 1 logits (0, ln 3) for class 1: CE = -ln(3/4)
    logits = torch.tensor([[[0.0, 0.0]], [[0.0, math.log(3.0)]]])
    loss = JointExitLoss(torch.tensor([0.25, 0.75]), multi_label=False)(logits, torch.tensor([1]))
    assert loss.item() == pytest.approx(0.25 * math.log(2) + 0.75 * -math.log(0.75), abs=1e-6)


def test_multi_label_joint_loss_is_mean_binary_cross_entropy():
    logits = torch.tensor([[[0.0, 0.0]]])  # sigmoid 0.5 on both labels: BCE = ln 2 each
    loss = JointExitLoss(torch.tensor([1.0]), multi_label=True)(logits, torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)


def test_distillation_is_zero_when_exits_agree_with_the_last():
    logits = torch.tensor([[[1.0, -1.0]], [[1.0, -1.0]]])
    plain = JointExitLoss(torch.tensor([0.5, 0.5]), multi_label=False)
    distilled = JointExitLoss(torch.tensor([0.5, 0.5]), multi_label=False, distill_weight=1.0)
    target = torch.tensor([0])
    assert distilled(logits, target).item() == pytest.approx(plain(logits, target).item(), abs=1e-6)
    disagreeing = torch.tensor([[[-1.0, 1.0]], [[1.0, -1.0]]])
    assert distilled(disagreeing, target).item() > plain(disagreeing, target).item()


def test_balanced_class_weights():
    weights = balanced_class_weights(torch.tensor([0, 0, 0, 1]), 2, multi_label=False)
    torch.testing.assert_close(weights, torch.tensor([4 / 6, 4 / 2]))
    pos_weight = balanced_class_weights(torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 1.0]]), 2, True)
    torch.testing.assert_close(pos_weight, torch.tensor([3.0, 1.0]))


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"depth_weights": "deep"}, "depth_weights 'deep' is unknown"),
        ({"class_weighting": "focal"}, "class_weighting 'focal' is unknown"),
        ({"learning_rate": 0.0}, "learning_rate must be positive"),
    ],
)
def test_invalid_settings_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        TrainingSettings(**bad)


def test_learning_rate_defaults_by_method():
    from epee.train.settings import backbone_learning_rate

    assert backbone_learning_rate(TrainingSettings(), uses_peft=True) == 3e-4
    assert backbone_learning_rate(TrainingSettings(), uses_peft=False) == 3e-5
    assert backbone_learning_rate(TrainingSettings(learning_rate=1e-3), uses_peft=False) == 1e-3
