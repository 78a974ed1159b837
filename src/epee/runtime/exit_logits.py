"""Run a model once with every exit on a split: the cache that calibration and reports use."""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from epee.models import MultiExitModel
from epee.policies.scores import predictions
from epee.tasks.encoding import EncodedSplit, batch_indices
from epee.tasks.metrics import Metric, apply_metric


@torch.inference_mode()
def collect_exit_logits(
    model: MultiExitModel, featurizer, split: EncodedSplit, *, batch_size: int = 64, description: str | None = None
) -> torch.Tensor:
    """Logits of every exit for every example, in the split's order: ``[exits, examples, labels]``."""
    model.eval()
    result = torch.empty(len(model.exit_layers), len(split), model.config.num_labels)
    batches = list(batch_indices(len(split), batch_size, lengths=split.lengths))
    for rows in tqdm(batches, desc=description, disable=description is None, leave=False):
        inputs = featurizer.collate([split.features[row] for row in rows])
        result[:, torch.as_tensor(rows)] = model(inputs).float()
    return result


def predictions_from_logits(logits: torch.Tensor, multi_label: bool) -> np.ndarray:
    """What a metric receives: class ids ``[batch]``, or a 0/1 matrix ``[batch, labels]`` (p > 0.5) for multi-label.

    Works on any leading shape, e.g. ``[exits, batch, classes]`` gives ``[exits, batch(, labels)]``.
    """
    flat = logits.reshape(-1, logits.shape[-1])
    predicted = predictions(flat, multi_label).detach().cpu().numpy()
    return predicted.reshape(*logits.shape[:-1], *predicted.shape[1:])


def probabilities_from_logits(logits: torch.Tensor, multi_label: bool) -> np.ndarray:
    """Class probabilities (softmax; multi-label, each label's sigmoid), shaped like ``logits``: what AUC scores."""
    logits = logits.float()
    probabilities = torch.sigmoid(logits) if multi_label else torch.softmax(logits, dim=-1)
    return probabilities.detach().cpu().numpy()


def per_exit_metric(exit_logits: torch.Tensor, labels: torch.Tensor, metric: Metric, multi_label: bool) -> list[float]:
    """The task metric of each exit on its own (the "overthinking" curve), of its probabilities where it needs them."""
    gold = labels.numpy()
    predictions = predictions_from_logits(exit_logits, multi_label)
    probabilities = probabilities_from_logits(exit_logits, multi_label)
    return [
        apply_metric(metric, exit_predictions, gold, exit_probabilities)
        for exit_predictions, exit_probabilities in zip(predictions, probabilities, strict=True)
    ]
