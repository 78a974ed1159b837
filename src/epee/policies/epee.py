"""EPEE policy (Zhan et al., 2025): the hybrid of PABEE's patience and DeeBERT's entropy tests.

A sample exits at the first exit where either test fires: its prediction has stayed unchanged
``patience`` times in a row, or its normalised entropy is below ``tau``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, PolicyState
from epee.policies.checks import check_count, check_non_negative
from epee.policies.patience import unchanged_counter, update_unchanged_counter
from epee.policies.scores import entropy


@dataclass(frozen=True)
class EPEEParams:
    """``tau``: normalised-entropy threshold; ``patience``: unchanged predictions needed (as in PABEE)."""

    tau: float
    patience: int

    def __post_init__(self) -> None:
        check_non_negative("epee", "tau", self.tau)
        check_count("epee", "patience", self.patience)


class EPEEPolicy(ExitPolicy):
    name = "epee"
    params_type = EPEEParams

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return unchanged_counter(batch_size, device)

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        patient = update_unchanged_counter(state, exit_index, logits) >= self.params.patience
        confident = entropy(logits, state.multi_label, normalized=True) < self.params.tau
        return patient | confident
