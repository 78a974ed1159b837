"""Exact values of the task metrics, checked against counts done by hand."""

import numpy as np
import pytest

from epee.data import Dataset, Example
from epee.tasks.metrics import (
    CLASS_BALANCED_METRICS,
    accuracy,
    balanced_accuracy,
    binary_auc,
    hoc_abstract_f1,
    macro_f1,
    metric_for,
    metrics_beside,
    micro_f1_excluding,
    multilabel_macro_f1,
    multilabel_micro_f1,
)

# Class 0 is the negative ("no relation") class.
GOLD = np.array([0, 0, 1, 1, 2, 2, 0, 1])
PRED = np.array([0, 1, 1, 0, 2, 1, 2, 1])


def test_micro_f1_excluding_the_negative_class():
    # Positive classes only: TP = rows 2, 4, 7 -> 3; FP = rows 1, 5, 6 -> 3 (predicted a relation wrongly);
    # FN = rows 3, 5 -> 2 (missed or mistyped relation). P = 3/6, R = 3/5, F1 = 2PR / (P + R) = 6/11.
    assert micro_f1_excluding(PRED, GOLD, negative=0) == pytest.approx(6 / 11)
    assert accuracy(PRED, GOLD) == pytest.approx(4 / 8)  # what plain micro-F1 would report


def test_micro_f1_excluding_with_no_positive_anywhere_is_zero():
    assert micro_f1_excluding(np.zeros(3, int), np.zeros(3, int), negative=0) == 0.0


def test_macro_f1():
    # class 0: 2/3, class 1: 2/3, class 2: 1 -> 7/9.
    assert macro_f1(np.array([0, 1, 1, 2]), np.array([0, 0, 1, 2])) == pytest.approx(7 / 9)


def test_multilabel_micro_and_macro_f1():
    labels = np.array([[1, 0], [1, 1], [0, 1], [0, 1]])
    predictions = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    # label 0: TP 1, FP 1, FN 1 -> 1/2; label 1: TP 2, FP 0, FN 1 -> 4/5; pooled: TP 3, FP 1, FN 2 -> 6/9.
    assert multilabel_macro_f1(predictions, labels) == pytest.approx((1 / 2 + 4 / 5) / 2)
    assert multilabel_micro_f1(predictions, labels) == pytest.approx(6 / 9)


def test_hoc_abstract_level_ors_sentences_per_group():
    groups = ["A", "B", "C", "A", "B"]  # interleaved on purpose
    labels = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 1]])
    predictions = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 1], [1, 0, 0], [1, 0, 0]])
    # Abstracts: A gold 110 / pred 110, B gold 001 / pred 101, C gold 000 / pred 001.
    # TP 3, FP 2, FN 0 -> P 3/5, R 1, F1 3/4; sentence-level micro-F1 is 0.
    assert hoc_abstract_f1(predictions, labels, groups) == pytest.approx(3 / 4)
    assert multilabel_micro_f1(predictions, labels) == 0.0
    with pytest.raises(ValueError, match="Got 2 groups for 5 examples"):
        hoc_abstract_f1(predictions, labels, groups[:2])


def test_binary_auc_from_probabilities():
    labels = np.array([0, 0, 1, 1])
    positive = np.array([0.1, 0.4, 0.35, 0.8])
    assert binary_auc(positive, labels) == pytest.approx(0.75)
    assert binary_auc(np.stack([1 - positive, positive], axis=1), labels) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="needs both classes"):
        binary_auc(positive, np.ones(4, int))


def test_shape_errors_are_sentences():
    with pytest.raises(ValueError, match="Got 2 predictions for 3 labels"):
        accuracy(np.array([0, 1]), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="0/1 matrices"):
        multilabel_micro_f1(np.array([0, 1]), np.array([0, 1]))


def _dataset(metric, task="single_label", label_names=("CPR:3", "False"), negative_label=None, dev=None):
    train = [Example(f"t{index}", labels) for index, labels in enumerate([("CPR:3",), ("False",)])]
    if task == "multi_label":
        train = [Example("t0", ("CPR:3", "False")), Example("t1", ())]
    return Dataset(
        name="toy",
        task=task,
        label_names=list(label_names),
        train=train,
        dev=dev,
        test=None,
        metric=metric,
        negative_label=negative_label,
    )


def test_metric_for_binds_the_negative_class_id():
    metric = metric_for(_dataset("micro_f1_excluding_negative", negative_label="False"))
    # Negative is id 1 here: only class 0 counts. TP 1 (row 0), FP 1 (row 2), FN 1 (row 1) -> 1/2.
    assert metric(np.array([0, 1, 0]), np.array([0, 0, 1])) == pytest.approx(1 / 2)


def test_metric_for_hoc_takes_groups_from_the_split():
    dev = [Example("s0", ("CPR:3",), group="A"), Example("s1", (), group="A")]
    metric = metric_for(_dataset("hoc_abstract_f1", task="multi_label", dev=dev), split="dev")
    assert metric(np.array([[0, 0], [1, 0]]), np.array([[1, 0], [0, 0]])) == 1.0


def test_metric_for_simple_and_unknown_metrics():
    assert metric_for(_dataset("accuracy")) is accuracy
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        metric_for(_dataset("bleu"))
    with pytest.raises(ValueError, match="names no negative_label"):
        metric_for(_dataset("micro_f1_excluding_negative"))


def test_balanced_accuracy_is_the_mean_recall_and_half_for_one_class():
    # recalls: class 0 1/3, class 1 2/3, class 2 1/2
    assert balanced_accuracy(PRED, GOLD) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    labels = np.array([1] * 9 + [0])
    assert accuracy(np.ones(10, dtype=int), labels) == 0.9
    assert balanced_accuracy(np.ones(10, dtype=int), labels) == 0.5


def test_accuracy_is_never_shown_without_a_class_balanced_metric():
    assert list(metrics_beside(_dataset("accuracy"))) == ["accuracy", "balanced_accuracy", "macro_f1"]
    assert list(metrics_beside(_dataset("macro_f1"))) == ["macro_f1", "accuracy"]
    assert list(metrics_beside(_dataset("balanced_accuracy"))) == ["balanced_accuracy", "macro_f1", "accuracy"]
    assert set(CLASS_BALANCED_METRICS) == {"balanced_accuracy", "macro_f1", "multilabel_macro_f1"}


def test_f1_positive_matches_scikit_learn():
    from sklearn.metrics import f1_score

    from epee.tasks.metrics import f1_positive

    rng = np.random.default_rng(0)
    labels, predictions = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    for positive in range(3):
        expected = f1_score(labels == positive, predictions == positive)
        assert f1_positive(predictions, labels, positive) == pytest.approx(expected, abs=1e-12)
    assert f1_positive(np.zeros(4, int), np.array([0, 1, 0, 1]), positive=1) == 0.0  # majority-class predictor


def test_auc_scores_probabilities_and_refuses_decisions_alone():
    from sklearn.metrics import roc_auc_score

    from epee.tasks.degeneracy import DegeneracyCheck, majority_metric
    from epee.tasks.metrics import apply_metric, auc

    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.45, 0.55], [0.7, 0.3], [0.2, 0.8]])
    predictions = probabilities.argmax(axis=1)
    assert apply_metric(auc, predictions, labels, probabilities) == pytest.approx(0.75, abs=1e-12)
    assert roc_auc_score(labels, probabilities[:, 1]) == pytest.approx(0.75, abs=1e-12)
    assert roc_auc_score(labels, predictions) == 0.5  # what an AUC of these decisions would say
    with pytest.raises(ValueError, match="AUC scores class probabilities and none were given"):
        apply_metric(auc, predictions, labels)
    with pytest.raises(ValueError, match=r"got shape \(4, 1\)"):
        auc(predictions, labels, probabilities[:, :1])
    assert majority_metric(auc, labels) == 0.5 == DegeneracyCheck.for_labels(labels, auc).baseline
    assert metric_for(_dataset("auc")) is auc
