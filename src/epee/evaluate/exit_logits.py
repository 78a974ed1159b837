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
