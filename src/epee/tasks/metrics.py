"""Task metrics as each benchmark defines them, on class ids or 0/1 label matrices.

All metrics return fractions in [0, 1]. Single-label predictions and labels are class ids
``[examples]``; multi-label ones are 0/1 matrices ``[examples, labels]``, both in the dataset's
``label_names`` order. :func:`metric_for` picks a dataset's headline metric, which calibration
uses to score every exit policy.

The benchmark conventions implemented here:

* ChemProt and DDI: micro-F1 over the positive relation classes only (:func:`micro_f1_excluding`).
  A "no relation" prediction for a true relation counts as a false negative, a relation predicted
  for a "no relation" pair as a false positive, and the negative class earns no true positives.
* HoC: BLURB scores abstracts, not sentences. :func:`hoc_abstract_f1` ORs the sentence label
  vectors of each PMID and takes micro-F1 over the (abstract x hallmark) matrix. This is what the
  BLURB leaderboard reports for HoC (micro-F1, Gu et al. 2021), as computed by the evaluation
  script used for published BLURB numbers (``eval_hoc`` in LinkBERT's ``utils_hoc.py``: pooled
  TP / predicted / gold counts over all abstract-label cells). It is not a macro average, so a
  rare hallmark weighs less than in :func:`multilabel_macro_f1`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

from epee.data.examples import Dataset
from epee.errors import EpeeError

Metric = Callable[..., float]
"""``metric(predictions, labels) -> float``; one that :func:`needs_probabilities` takes ``probabilities`` too."""


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of examples whose class id is right."""
    predictions, labels = _class_ids(predictions, labels)
    return float(accuracy_score(labels, predictions))


def macro_f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the classes that occur in labels or predictions.

    The headline metric for imbalanced clinical labels: a model that predicts only the majority
    class scores high accuracy but low macro-F1.
    """
    predictions, labels = _class_ids(predictions, labels)
    return float(f1_score(labels, predictions, average="macro", zero_division=0))


def balanced_accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Mean recall over the classes present in labels: 1 / classes for any single-class predictor.

    PneumoniaMNIST's headline: on hard predictions of a binary task it equals the ROC AUC of those
    predictions, the figure MedMNIST reports, and unlike accuracy it does not reward the majority class.
    """
    predictions, labels = _class_ids(predictions, labels)
    return float(balanced_accuracy_score(labels, predictions))


def f1_positive(predictions: np.ndarray, labels: np.ndarray, positive: int) -> float:
    """F1 of the class ``positive`` alone: the convention of BLURB's binary relation tasks, and epee's default for a
    binary user file with the minority class as ``positive`` (a majority-class predictor scores 0)."""
    predictions, labels = _class_ids(predictions, labels)
    return float(f1_score(labels, predictions, labels=[positive], average="micro", zero_division=0))


def auc(predictions: np.ndarray, labels: np.ndarray, probabilities: np.ndarray) -> float:
    """ROC AUC of the class probabilities ``[examples, classes]`` of the exit that decided; the decisions are unused.

    Binary: of class 1's probability (:func:`binary_auc`; class 0's gives the same area). More
    classes: one-vs-rest, macro-averaged over the classes present in labels (an absent class has no
    ROC curve). A constant score, such as the majority-class baseline's, scores 0.5. Called through
    :func:`apply_metric`, which hands it the probabilities.
    """
    predictions, labels = _class_ids(predictions, labels)
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim != 2 or len(probabilities) != len(labels) or probabilities.shape[1] <= labels.max():
        raise EpeeError(
            f"AUC needs class probabilities [examples, classes] for the {len(labels)} labels (class ids up to "
            f"{labels.max()}), got shape {probabilities.shape}."
        )
    present = np.unique(labels)
    if present.size < 2:
        raise EpeeError(f"AUC needs at least two classes among the labels, got only {present.tolist()}.")
    if probabilities.shape[1] == 2:
        return binary_auc(probabilities, labels)
    return float(np.mean([roc_auc_score(labels == label, probabilities[:, label]) for label in present]))


auc.needs_probabilities = True


def apply_metric(
    metric: Metric, predictions: np.ndarray, labels: np.ndarray, probabilities: np.ndarray | None = None
) -> float:
    """``metric`` of these predictions; a metric of probabilities (:func:`auc`) also gets ``probabilities``.

    ``probabilities`` are those of the exit each prediction came from, ``[examples, classes]``
    (single-label softmax). Every caller that has logits passes them, so no table scores a
    probability metric on decisions.
    """
    if not needs_probabilities(metric):
        return float(metric(predictions, labels))
    if probabilities is None:
        raise EpeeError("AUC scores class probabilities and none were given; pass the deciding exit's probabilities.")
    return float(metric(predictions, labels, probabilities))


def needs_probabilities(metric: Metric) -> bool:
    """Whether ``metric`` scores class probabilities, not only decisions (:func:`apply_metric` passes them)."""
    return getattr(metric, "needs_probabilities", False)


def micro_f1_excluding(predictions: np.ndarray, labels: np.ndarray, negative: int) -> float:
    """Micro-F1 over every class except ``negative`` (the ChemProt / DDI standard)."""
    predictions, labels = _class_ids(predictions, labels)
    positives = np.setdiff1d(np.union1d(predictions, labels), [negative])
    if positives.size == 0:
        return 0.0
    return float(f1_score(labels, predictions, labels=positives, average="micro", zero_division=0))


def multilabel_micro_f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """F1 of the pooled true/false positive and false negative counts over all (example, label) cells."""
    predictions, labels = _label_matrices(predictions, labels)
    return float(f1_score(labels, predictions, average="micro", zero_division=0))


def multilabel_macro_f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Mean per-label F1; a label absent from both labels and predictions counts as 0."""
    predictions, labels = _label_matrices(predictions, labels)
    return float(f1_score(labels, predictions, average="macro", zero_division=0))


def hoc_abstract_f1(predictions: np.ndarray, labels: np.ndarray, groups: Sequence[str]) -> float:
    """BLURB's HoC score: OR the sentence vectors of each group (PMID), then micro-F1 over abstracts."""
    predictions, labels = _label_matrices(predictions, labels)
    if len(groups) != len(labels):
        raise EpeeError(f"Got {len(groups)} groups for {len(labels)} examples; give one group (PMID) per sentence.")
    return multilabel_micro_f1(_or_by_group(predictions, groups), _or_by_group(labels, groups))


def binary_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve for a binary task (MedMNIST reports it beside accuracy).

    ``scores`` are probabilities of class 1, ``[examples]``, or class probabilities ``[examples, 2]``.
    AUC needs scores: on hard class ids it degrades to balanced accuracy.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels)
    if scores.ndim == 2:
        if scores.shape[1] != 2:
            raise EpeeError(f"Binary AUC needs scores of shape [examples] or [examples, 2], got {scores.shape}.")
        scores = scores[:, 1]
    if scores.shape != labels.shape:
        raise EpeeError(f"Got {scores.shape[0]} scores for {labels.shape[0]} labels; they must match one to one.")
    if np.unique(labels).size != 2:
        raise EpeeError(f"Binary AUC needs both classes among the labels, got only {np.unique(labels).tolist()}.")
    return float(roc_auc_score(labels, scores))


def metric_for(dataset: Dataset, split: str = "dev") -> Metric:
    """The headline metric of ``dataset`` as ``metric(predictions, labels) -> float``.

    ``split`` matters only for group-level metrics (HoC), whose groups come from that split, so
    the returned function expects predictions for exactly that split's examples in order.
    """
    name = dataset.metric
    if name == "f1_positive":
        if dataset.positive_label is None:
            raise EpeeError(f"Dataset {dataset.name!r} uses {name!r} but names no positive_label.")
        positive = dataset.label_names.index(dataset.positive_label)
        return lambda predictions, labels: f1_positive(predictions, labels, positive)
    if name == "micro_f1_excluding_negative":
        if dataset.negative_label is None:
            raise EpeeError(f"Dataset {dataset.name!r} uses {name!r} but names no negative_label.")
        negative = dataset.label_names.index(dataset.negative_label)
        return lambda predictions, labels: micro_f1_excluding(predictions, labels, negative)
    if name == "hoc_abstract_f1":
        examples = dataset.splits().get(split)
        if examples is None:
            raise EpeeError(f"Dataset {dataset.name!r} has no {split!r} split to take the HoC groups from.")
        groups = [example.group for example in examples]
        if any(group is None for group in groups):
            raise EpeeError(
                f"Every example of the {split} split of {dataset.name!r} needs a group (PMID) for {name!r}."
            )
        return lambda predictions, labels: hoc_abstract_f1(predictions, labels, groups)
    if name in SIMPLE_METRICS:
        return SIMPLE_METRICS[name]
    known = sorted([*SIMPLE_METRICS, "f1_positive", "micro_f1_excluding_negative", "hoc_abstract_f1"])
    raise EpeeError(f"Dataset {dataset.name!r} names an unknown metric {name!r}; known metrics are {known}.")


SIMPLE_METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "auc": auc,
    "balanced_accuracy": balanced_accuracy,
    "macro_f1": macro_f1,
    "multilabel_micro_f1": multilabel_micro_f1,
    "multilabel_macro_f1": multilabel_macro_f1,
}
"""Metrics that need nothing but predictions and labels (auc: and probabilities), by the names datasets use."""


CLASS_BALANCED_METRICS = ("balanced_accuracy", "macro_f1", "multilabel_macro_f1")
"""Metrics that weigh every class equally, so a model predicting only the majority class scores low."""


def metric_title(dataset: Dataset) -> str:
    """The headline metric as tables name it: its name, and the class it is about when it is about one."""
    if dataset.metric == "f1_positive":
        return f"f1_positive ({dataset.positive_label!r})"
    if dataset.metric == "micro_f1_excluding_negative":
        return f"micro_f1_excluding ({dataset.negative_label!r})"
    return dataset.metric


def metrics_beside(dataset: Dataset, split: str = "dev") -> dict[str, Metric]:
    """The headline metric first, then what tables show beside it, by name.

    Beside any headline: a class-balanced metric when the headline is not one (balanced accuracy
    and macro-F1 single-label, macro-F1 multi-label) and, single-label, accuracy, so accuracy is
    never read alone and a class-balanced figure is always in view.
    """
    metrics = {dataset.metric: metric_for(dataset, split)}
    if dataset.task == "multi_label":
        metrics.setdefault("multilabel_macro_f1", multilabel_macro_f1)
        return metrics
    if dataset.metric not in CLASS_BALANCED_METRICS:
        metrics.setdefault("balanced_accuracy", balanced_accuracy)
    metrics.setdefault("macro_f1", macro_f1)
    metrics.setdefault("accuracy", accuracy)
    return metrics


def _class_ids(predictions: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim != 1 or labels.ndim != 1:
        raise EpeeError(
            f"Single-label metrics take class ids of shape [examples]; got predictions {predictions.shape} "
            f"and labels {labels.shape}."
        )
    if predictions.shape != labels.shape:
        raise EpeeError(f"Got {len(predictions)} predictions for {len(labels)} labels; they must match one to one.")
    if labels.size == 0:
        raise EpeeError("A metric needs at least one example, got none.")
    return predictions, labels


def _label_matrices(predictions: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim != 2 or predictions.shape != labels.shape:
        raise EpeeError(
            f"Multi-label metrics take 0/1 matrices [examples, labels] of equal shape; got predictions "
            f"{predictions.shape} and labels {labels.shape}."
        )
    if labels.shape[0] == 0:
        raise EpeeError("A metric needs at least one example, got none.")
    return predictions.astype(bool).astype(int), labels.astype(bool).astype(int)


def _or_by_group(matrix: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """``[groups, labels]``: a label is on for a group when any of its rows has it."""
    _, group_ids = np.unique(np.asarray(groups), return_inverse=True)
    aggregated = np.zeros((group_ids.max() + 1, matrix.shape[1]), dtype=bool)
    np.logical_or.at(aggregated, group_ids.ravel(), matrix.astype(bool))
    return aggregated.astype(int)
