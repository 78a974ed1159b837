"""auc in calibration is the ROC AUC of the probabilities of the exit each row left at, as scikit-learn computes it."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from epee.calibrate import calibrate
from epee.tasks.metrics import auc

LABELS = np.array([0, 0, 0, 1, 1, 1])
# p(class 1) of each row at exit 1 (layer 1) and exit 2 (layer 2); only rows 0 and 3 are sure (0.95) at exit 1
FIRST = np.array([0.05, 0.6, 0.45, 0.95, 0.3, 0.55])
LAST = np.array([0.2, 0.1, 0.7, 0.8, 0.9, 0.4])


def _logits(positive: np.ndarray) -> torch.Tensor:
    """[batch, 2] logits whose softmax gives class 1 the probability ``positive``."""
    return torch.tensor(np.stack([np.zeros_like(positive), np.log(positive / (1 - positive))], axis=1))


def test_per_exit_and_policy_auc_are_of_the_deciding_exits_probabilities():
    logits = torch.stack([_logits(FIRST), _logits(LAST)])
    result = calibrate(
        logits,
        LABELS,
        exit_layer_numbers=(1, 2),
        num_layers=2,
        multi_label=False,
        metric=auc,
        metric_name="auc",
        policies=("maxprob",),
        grids={"maxprob": [{"threshold": 0.9}]},
    )
    np.testing.assert_allclose(
        result.per_exit_metric, [roc_auc_score(LABELS, FIRST), roc_auc_score(LABELS, LAST)], atol=1e-12
    )
    (point,) = result.points
    assert point.exit_counts == (2, 4)  # rows 0 and 3 leave at exit 1
    chosen = np.where(np.isin(np.arange(6), [0, 3]), FIRST, LAST)
    assert point.metric == pytest.approx(roc_auc_score(LABELS, chosen), abs=1e-12)
    assert point.metric == pytest.approx(8 / 9, abs=1e-12)  # 8 of the 9 (negative, positive) pairs ranked right
    assert roc_auc_score(LABELS, chosen > 0.5) == pytest.approx(2 / 3)  # the decisions' AUC is another number
    assert result.majority_metric == 0.5  # a constant score ranks no pair


def test_three_class_auc_is_scikit_learns_one_vs_rest_macro_average():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2] * 5)
    probabilities = torch.softmax(torch.tensor(rng.normal(size=(15, 3))), dim=-1).numpy()
    expected = roc_auc_score(labels, probabilities, multi_class="ovr", average="macro")
    assert auc(probabilities.argmax(axis=1), labels, probabilities) == pytest.approx(expected, abs=1e-12)
