"""Every exit's metrics on a split beside the majority-class baseline: what ``epee evaluate`` prints."""

from __future__ import annotations

from dataclasses import dataclass

from epee.data import Dataset
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for
from epee.runtime.exit_logits import collect_exit_logits, per_exit_metric, predictions_from_logits
from epee.tasks.degeneracy import DegeneracyCheck, majority_predictions
from epee.tasks.metrics import metrics_beside


@dataclass(frozen=True)
class ExitMetricTable:
    """``metrics[name]``: each exit's value, then the majority-class baseline's; ``degenerate[i]``: why
    exit ``i`` is degenerate by the headline metric (:mod:`epee.tasks.degeneracy`), else None."""

    metrics: dict[str, list[float]]
    degenerate: tuple[str | None, ...]


def exit_metric_table(model: MultiExitModel, dataset: Dataset, split: str) -> ExitMetricTable:
    """Headline metric and the metrics shown beside it (:func:`~epee.tasks.metrics.metrics_beside`) of
    every exit on ``split``, then of the majority class.

    On imbalanced clinical labels shallow exits can collapse to the majority class (DESIGN.md);
    the baseline row shows what that collapse would score, and the degeneracy marks say which exits did.
    """
    examples = getattr(dataset, split)
    if not examples:
        raise EpeeError(f"Dataset {dataset.name!r} has no {split} split.")
    featurizer = featurizer_for(model)
    encoded = encode_split(featurizer, examples, model)
    logits = collect_exit_logits(model, featurizer, encoded, description=f"{split} logits")
    multi_label = model.config.multi_label
    gold = encoded.labels.numpy()
    majority = majority_predictions(gold)
    named = metrics_beside(dataset, split)
    metrics = {
        name: [*per_exit_metric(logits, encoded.labels, metric, multi_label), float(metric(majority, gold))]
        for name, metric in named.items()
    }
    check = DegeneracyCheck.for_labels(gold, named[dataset.metric])
    pairs = zip(predictions_from_logits(logits, multi_label), metrics[dataset.metric][:-1], strict=True)
    return ExitMetricTable(metrics, tuple(check.reason(predictions, value) for predictions, value in pairs))
