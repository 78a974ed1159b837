"""The two degeneracy questions on hand-made predictions: collapse to one prediction, and no gain over the majority."""

import numpy as np
import pytest

from epee.tasks.degeneracy import (
    MARGIN,
    DegeneracyCheck,
    largest_share,
    majority_predictions,
    per_exit_degeneracy,
)
from epee.tasks.metrics import accuracy, balanced_accuracy, macro_f1, multilabel_micro_f1

LABELS = np.array([0] * 12 + [1] * 8)  # 60% majority


def test_majority_predictions_single_and_multi_label():
    assert majority_predictions(np.array([2, 1, 2, 0])).tolist() == [2, 2, 2, 2]
    assert majority_predictions(np.array([1, 0, 1, 0])).tolist() == [0, 0, 0, 0]  # a tie goes to the lower id
    matrix = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1]])
    assert majority_predictions(matrix).tolist() == [[1, 0, 1]] * 3


def test_largest_share_counts_whole_label_sets():
    assert largest_share(np.array([0, 0, 0, 1])) == 0.75
    assert largest_share(np.array([[1, 0], [1, 0], [0, 1], [1, 1]])) == 0.5


def test_the_baseline_is_the_metric_of_always_saying_the_majority_class():
    assert DegeneracyCheck.for_labels(LABELS, accuracy).baseline == 0.6
    assert DegeneracyCheck.for_labels(LABELS, balanced_accuracy).baseline == 0.5
    assert DegeneracyCheck.for_labels(LABELS, macro_f1).baseline == pytest.approx(0.5 * 2 * 0.6 / 1.6)
    assert DegeneracyCheck.for_labels(LABELS, macro_f1).label_share == 0.6


def test_a_collapsed_exit_is_degenerate_whatever_its_metric():
    check = DegeneracyCheck.for_labels(LABELS, accuracy)
    collapsed = np.zeros(20, dtype=int)
    reason = check.reason(collapsed, accuracy(collapsed, LABELS))
    assert reason == "one prediction for 100.0% of examples (labels: 60.0%)"
    nearly = np.array([1] + [0] * 19)  # 95% one class is still a collapse
    assert check.reason(nearly, 0.99).startswith("one prediction for 95.0%")


def test_no_gain_over_the_majority_baseline_by_the_margin_is_degenerate():
    check = DegeneracyCheck.for_labels(LABELS, accuracy)
    mixed = np.array([0, 1] * 10)
    assert check.reason(mixed, 0.6 + MARGIN / 2) == "60.5 does not beat the majority baseline 60.0 by 1.0"
    assert check.reason(mixed, 0.55) == "55.0 does not beat the majority baseline 60.0 by 1.0"
    assert check.reason(mixed, 0.6 + MARGIN) is None
    assert check.reason(mixed, 0.9) is None


def test_labels_as_concentrated_as_the_predictions_leave_only_the_margin_test():
    labels = np.array([0] * 19 + [1])  # 95% one class: predicting it for everyone is not a collapse of the model
    check = DegeneracyCheck.for_labels(labels, macro_f1)
    predictions = np.array([0] * 19 + [1])
    assert check.reason(predictions, macro_f1(predictions, labels)) is None
    assert check.reason(np.zeros(20, dtype=int), macro_f1(np.zeros(20, dtype=int), labels)).startswith("48.7 does not")


def test_multi_label_collapse_is_one_label_set_for_everyone():
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 5)
    check = DegeneracyCheck.for_labels(labels, multilabel_micro_f1)
    assert check.baseline == 0.0  # no label is on for most examples: the baseline predicts none
    always_first = np.tile([1, 0], (20, 1))
    assert check.reason(always_first, multilabel_micro_f1(always_first, labels)).startswith("one prediction for 100.0%")
    assert check.reason(labels, multilabel_micro_f1(labels, labels)) is None


def test_per_exit_degeneracy_marks_the_shallow_collapsed_exits():
    per_exit = np.array([np.zeros(20, dtype=int), np.zeros(20, dtype=int), LABELS])
    metrics = [accuracy(predictions, LABELS) for predictions in per_exit]
    reasons = per_exit_degeneracy(per_exit, LABELS, metrics, accuracy)
    assert [reason is not None for reason in reasons] == [True, True, False]
    with pytest.raises(ValueError, match="predictions of 3 exits but 2 metrics"):
        per_exit_degeneracy(per_exit, LABELS, metrics[:2], accuracy)
