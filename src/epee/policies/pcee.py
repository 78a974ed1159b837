"""PCEE policy (PCEE-BERT, Zhang et al., 2022): exit after t consecutive confident exits.

An exit is confident when its normalised entropy is below tau (see :func:`epee.policies.scores.entropy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import Number, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.scores import entropy
from epee.policies.tables import ExitTables, consecutive_runs, count_consecutive

TAUS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4)
PATIENCES = (1, 2, 3, 4)


@dataclass(frozen=True)
class PCEEParams(PolicyParams):
    """``tau``: normalised-entropy threshold of a confident exit; ``patience``: confident exits in a row (>= 1)."""

    tau: float = parameter(Number(minimum=0))
    patience: int = parameter(Number(minimum=1, integer=True))


@register_policy
class PCEEPolicy(ExitPolicy):
    name = "pcee"
    params_type = PCEEParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"tau": tau, "patience": patience} for tau, patience in product(TAUS, PATIENCES)]

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return {"confident_run": torch.zeros(batch_size, dtype=torch.long, device=device)}

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        confident = entropy(logits, state.multi_label, normalized=True) < self.params.tau
        state.tensors["confident_run"] = count_consecutive(state.tensors["confident_run"], confident)
        return state.tensors["confident_run"] >= self.params.patience

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        return consecutive_runs(tables.entropy(True) < self.params.tau) >= self.params.patience
