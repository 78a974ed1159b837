"""BEEM's own threshold rule: the fastest alpha whose validation error is at most the last exit's."""

from __future__ import annotations

import numpy as np
import torch

from epee.calibrate.fast import ExitTables, fast_exit_index
from epee.calibrate.sweep import per_exit_error_rates, predictions_from_logits
from epee.errors import EpeeError
from epee.policies import BEEMParams, BEEMPolicy, beem_alpha_candidates


def choose_beem_alpha(
    layer_logits: torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    *,
    multi_label: bool,
    weights: str = "cost",
) -> BEEMParams:
    """BEEM parameters (BEEM-C for ``"cost"``, BEEM-A for ``"accuracy"``) with alpha chosen on validation.

    Following Bajpai & Hanawal (ICLR 2025), the threshold comes from the exits' validation error
    rates and must keep early exiting at most as wrong as the final layer: the candidates of
    :func:`~epee.policies.beem_alpha_candidates` are tried from the smallest (the fastest, since
    exits only move later as alpha grows) and the first whose error rate (1 - accuracy; multi-label:
    exact-match error) is at most the last exit's is returned. When none is, alpha is set to twice
    the sum of the weights, a score no sample can reach: no early exits.
    """
    labels = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    error_rates = per_exit_error_rates(layer_logits, labels, multi_label=multi_label)
    num_exits = len(error_rates)
    if weights == "cost":
        scheme = {"weights": "cost", "num_exits": num_exits}
    elif weights == "accuracy":
        scheme = {"weights": "accuracy", "accuracies": tuple(1.0 - error for error in error_rates)}
    else:
        raise EpeeError(f"choose_beem_alpha weighs exits by 'cost' or 'accuracy'; got {weights!r}.")
    exit_weights = BEEMParams(alpha=0.0, **scheme).exit_weights()
    per_exit_predictions = predictions_from_logits(layer_logits, multi_label)  # [exits, batch(, labels)]
    rows = np.arange(len(labels))
    tables = ExitTables(layer_logits, multi_label)
    for alpha in beem_alpha_candidates(error_rates, exit_weights):
        params = BEEMParams(alpha=alpha, **scheme)
        chosen = fast_exit_index(BEEMPolicy(params), tables).cpu().numpy()
        wrong = per_exit_predictions[chosen, rows] != labels
        error_rate = float((wrong.any(axis=-1) if multi_label else wrong).mean())
        if error_rate <= error_rates[-1]:
            return params
    return BEEMParams(alpha=2 * sum(exit_weights), **scheme)
