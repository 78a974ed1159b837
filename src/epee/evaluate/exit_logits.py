"""Run a model once with every exit on a split: the cache that calibration and reports use."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from epee.calibrate import predictions_from_logits
from epee.models import MultiExitModel
from epee.tasks.encoding import EncodedSplit, batch_indices

Metric = Callable[[np.ndarray, np.ndarray], float]


@torch.inference_mode()
def collect_exit_logits(
    model: MultiExitModel, encoder, split: EncodedSplit, *, batch_size: int = 64, description: str | None = None
) -> torch.Tensor:
    """Logits of every exit for every example, in the split's order: ``[exits, examples, labels]``."""
    model.eval()
    result = torch.empty(len(model.exit_layers), len(split), model.config.num_labels)
    batches = list(batch_indices(len(split), batch_size, lengths=split.lengths))
    for rows in tqdm(batches, desc=description, disable=description is None, leave=False):
        inputs = encoder.collate([split.features[row] for row in rows])
        result[:, torch.as_tensor(rows)] = model(inputs).float()
    return result


def per_exit_metric(exit_logits: torch.Tensor, labels: torch.Tensor, metric: Metric, multi_label: bool) -> list[float]:
    """The task metric of each exit on its own (the "overthinking" curve)."""
    gold = labels.numpy()
    return [float(metric(predictions_from_logits(logits, multi_label), gold)) for logits in exit_logits]


def exit_metric_table(model: MultiExitModel, dataset, split: str) -> dict[str, list[float]]:
    """Headline metric, macro-F1 and accuracy of every exit on ``split``, then of the majority class.

    On imbalanced clinical labels shallow exits can collapse to the majority class (DESIGN.md);
    the last row shows what that collapse would score.
    """
    from epee.tasks.metrics import accuracy, macro_f1, metric_for, multilabel_macro_f1
    from epee.train.fit import encode_split, input_encoder_for

    examples = getattr(dataset, split)
    if not examples:
        raise ValueError(f"Dataset {dataset.name!r} has no {split} split.")
    encoder = input_encoder_for(model)
    encoded = encode_split(encoder, examples, model)
    logits = collect_exit_logits(model, encoder, encoded, description=f"{split} logits")
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
