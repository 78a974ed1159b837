"""Every exit's metrics on a split beside the majority-class baseline: what ``epee evaluate`` prints."""

from __future__ import annotations

import numpy as np

from epee.data import Dataset
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for
from epee.runtime.exit_logits import collect_exit_logits, per_exit_metric
from epee.tasks.metrics import accuracy, macro_f1, metric_for, multilabel_macro_f1


def exit_metric_table(model: MultiExitModel, dataset: Dataset, split: str) -> dict[str, list[float]]:
    """Headline metric, macro-F1 and accuracy of every exit on ``split``, then of the majority class.

    On imbalanced clinical labels shallow exits can collapse to the majority class (DESIGN.md);
    the last row shows what that collapse would score.
    """
    examples = getattr(dataset, split)
    if not examples:
        raise EpeeError(f"Dataset {dataset.name!r} has no {split} split.")
    featurizer = featurizer_for(model)
    encoded = encode_split(featurizer, examples, model)
    logits = collect_exit_logits(model, featurizer, encoded, description=f"{split} logits")
    multi_label = model.config.multi_label
    gold = encoded.labels.numpy()
    if multi_label:
        majority = np.tile((gold.mean(0) > 0.5).astype(gold.dtype), (len(gold), 1))
    else:
        majority = np.full_like(gold, np.bincount(gold).argmax())
    metrics = {dataset.metric: metric_for(dataset, split)}
    if multi_label:
        metrics["macro_f1"] = multilabel_macro_f1
    else:
        metrics.update(macro_f1=macro_f1, accuracy=accuracy)
    return {
        name: [*per_exit_metric(logits, encoded.labels, metric, multi_label), float(metric(majority, gold))]
        for name, metric in metrics.items()
    }
