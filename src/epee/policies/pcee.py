"""PCEE policy (PCEE-BERT, Zhang et al., 2022): exit after t consecutive confident exits.

An exit is confident when its normalised entropy is below tau (see :func:`epee.policies.scores.entropy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, PolicyState, count_consecutive
from epee.policies.checks import check_count, check_non_negative
from epee.policies.scores import entropy


@dataclass(frozen=True)
class PCEEParams:
    """``tau``: normalised-entropy threshold of a confident exit; ``patience``: confident exits in a row (>= 1)."""

    tau: float
    patience: int

    def __post_init__(self) -> None:
        check_non_negative("pcee", "tau", self.tau)
        check_count("pcee", "patience", self.patience, minimum=1)


class PCEEPolicy(ExitPolicy):
    name = "pcee"
    params_type = PCEEParams

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return {"confident_run": torch.zeros(batch_size, dtype=torch.long, device=device)}

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        confident = entropy(logits, state.multi_label, normalized=True) < self.params.tau
        state.tensors["confident_run"] = count_consecutive(state.tensors["confident_run"], confident)
        return state.tensors["confident_run"] >= self.params.patience
