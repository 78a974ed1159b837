"""Patience policy (PABEE, Zhou et al., 2020): exit once the prediction has stayed unchanged t times.

A sample needs t + 1 equal consecutive predictions, so with patience t it exits at exit index t
at the earliest. Multi-label: the whole 0/1 label vector (p > 0.5) must be unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import Number, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.scores import predictions, same_prediction
from epee.policies.tables import ExitTables, count_consecutive


@dataclass(frozen=True)
class PatienceParams(PolicyParams):
    """``patience`` t: the number of consecutive unchanged predictions needed (t = 0 exits at the first exit)."""

    patience: int = parameter(Number(minimum=0, integer=True))


def unchanged_counter(batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
    """PABEE's counter of consecutive unchanged predictions, 0 for every row."""
    return {"unchanged": torch.zeros(batch_size, dtype=torch.long, device=device)}


def update_unchanged_counter(state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
    """Compare this exit's prediction with the previous exit's; return the updated counter ``[batch]``."""
    prediction = predictions(logits, state.multi_label)
    if exit_index > 0:
        unchanged = same_prediction(state.tensors["previous_prediction"], prediction, state.multi_label)
        state.tensors["unchanged"] = count_consecutive(state.tensors["unchanged"], unchanged)
    state.tensors["previous_prediction"] = prediction
    return state.tensors["unchanged"]


@register_policy
class PatiencePolicy(ExitPolicy):
    name = "patience"
    params_type = PatienceParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        """Patience 1 .. num_exits - 1: every value that can fire before the last exit."""
        return [{"patience": patience} for patience in range(1, max(len(error_rates), 2))]

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return unchanged_counter(batch_size, device)

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return update_unchanged_counter(state, exit_index, logits) >= self.params.patience

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        return tables.unchanged_run() >= self.params.patience
