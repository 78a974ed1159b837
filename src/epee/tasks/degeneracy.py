"""Degenerate exits and policy settings: collapsed to one prediction, or no better than the majority class.

A shallow exit trained on imbalanced labels often predicts the majority class for everything
(DESIGN.md, "A trap measured on our own data"): its accuracy looks respectable, exiting there
looks free, and it is worthless. Calibration, evaluation, reports and the demo ask this module the
same two questions of every exit and every simulated policy setting:

1. **Collapse**: does one prediction (a class id; for multi-label tasks, one label set) cover at
   least :data:`COLLAPSE_SHARE` of the examples while the labels do not?
2. **No gain**: does its metric fail to beat the majority-class baseline (every example gets the
   most frequent label; multi-label, each label as most examples have it) by :data:`MARGIN`?

Either makes it degenerate. The margin, :data:`MARGIN`, is one point of the metric: calibration's
default tolerance (``--epsilon 1``), the resolution at which it counts two settings as equally
good; a setting it cannot tell from "predict the majority class" at that resolution has earned no
speed-up. The margin is deliberately not a significance test (on 524 dev images one standard
error of an accuracy near 0.8 is 1.7 points): a collapse is caught by the first question whatever
the split size, and the per-exit table shows how far above the baseline each exit really is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from epee.errors import EpeeError
from epee.tasks.metrics import Metric, apply_metric, needs_probabilities

COLLAPSE_SHARE = 0.95
"""A prediction given to at least this share of examples is a collapse (unless the labels are as concentrated)."""

MARGIN = 0.01
"""How far a metric must beat the majority-class baseline, in metric units (one point; see the module doc)."""


def majority_predictions(labels: np.ndarray) -> np.ndarray:
    """What the majority-class baseline predicts for every example, shaped like ``labels``.

    Single-label (class ids ``[examples]``): the most frequent class (the lowest id on a tie).
    Multi-label (0/1 ``[examples, labels]``): each label on exactly when most examples have it.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2:
        return np.tile((labels.mean(axis=0) > 0.5).astype(labels.dtype), (len(labels), 1))
    return np.full_like(labels, np.bincount(labels).argmax())


def majority_metric(metric: Metric, labels: np.ndarray) -> float:
    """``metric`` of the majority-class baseline; a metric of probabilities gets its constant one-hot scores."""
    labels = np.asarray(labels)
    majority = majority_predictions(labels)
    probabilities = None
    if needs_probabilities(metric) and labels.ndim == 1:
        probabilities = np.eye(int(labels.max()) + 1)[majority]
    return apply_metric(metric, majority, labels, probabilities)


def largest_share(values: np.ndarray) -> float:
    """Share of examples that get the most frequent value: a class id, or a whole row of a label matrix."""
    values = np.asarray(values)
    _, counts = np.unique(values.reshape(len(values), -1), axis=0, return_counts=True)
    return float(counts.max() / len(values))


@dataclass(frozen=True)
class DegeneracyCheck:
    """The two questions, set up once for one split's labels and metric; :meth:`reason` answers them.

    ``baseline`` is the metric of the majority-class predictions, ``label_share`` the share of the
    most frequent label value: when the labels themselves are that concentrated, only the margin
    test applies.
    """

    baseline: float
    label_share: float
    margin: float = MARGIN

    @classmethod
    def for_labels(cls, labels: np.ndarray, metric: Metric) -> DegeneracyCheck:
        labels = np.asarray(labels)
        if len(labels) == 0:
            raise EpeeError("A degeneracy check needs at least one labelled example, got none.")
        baseline = majority_metric(metric, labels)
        return cls(baseline=baseline, label_share=largest_share(labels))

    def reason(self, predictions: np.ndarray, metric_value: float) -> str | None:
        """Why predictions scoring ``metric_value`` are degenerate, in one phrase; ``None`` when they are not."""
        share = largest_share(predictions)
        if share >= COLLAPSE_SHARE and self.label_share < COLLAPSE_SHARE:
            return f"one prediction for {100 * share:.1f}% of examples (labels: {100 * self.label_share:.1f}%)"
        if metric_value < self.baseline + self.margin:
            return (
                f"{100 * metric_value:.1f} does not beat the majority baseline {100 * self.baseline:.1f} "
                f"by {100 * self.margin:.1f}"
            )
        return None


def per_exit_degeneracy(
    per_exit_predictions: np.ndarray, labels: np.ndarray, per_exit_metric: Sequence[float], metric: Metric
) -> tuple[str | None, ...]:
    """:meth:`DegeneracyCheck.reason` of each exit; predictions ``[exits, examples(, labels)]``."""
    if len(per_exit_predictions) != len(per_exit_metric):
        raise EpeeError(f"Got predictions of {len(per_exit_predictions)} exits but {len(per_exit_metric)} metrics.")
    check = DegeneracyCheck.for_labels(labels, metric)
    pairs = zip(per_exit_predictions, per_exit_metric, strict=True)
    return tuple(check.reason(predictions, value) for predictions, value in pairs)
