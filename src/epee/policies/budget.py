"""Budget policy: every sample exits at the same exit, a static shallower model to compare against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import Number, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.tables import ExitTables


@dataclass(frozen=True)
class BudgetParams(PolicyParams):
    """``exit_index``: the 0-based exit where every sample stops (beyond the last exit means the last)."""

    exit_index: int = parameter(Number(minimum=0, integer=True))


@register_policy
class BudgetPolicy(ExitPolicy):
    name = "budget"
    params_type = BudgetParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        """Every exit as a static budget: the per-exit points of the trade-off."""
        return [{"exit_index": index} for index in range(len(error_rates))]

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return torch.full((logits.shape[0],), exit_index >= self.params.exit_index, device=logits.device)

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        exit_indices = torch.arange(tables.num_exits, device=tables.layer_logits.device)
        return (exit_indices >= self.params.exit_index)[:, None].expand(tables.num_exits, tables.batch_size)
