"""Budget policy: every sample exits at the same exit, a static shallower model to compare against.

Its parameter is ``exit_layer``, 1-based like every exit a user sees (tables, predictions, ``exit_layer``
in outputs): ``exit_layer=1`` is the first exit. Exits are counted in the order they are reached, so
for a model with an exit on every layer (the default) it is the layer number. Checkpoints written
before the rename stored ``exit_index`` (0-based); :meth:`BudgetPolicy.upgrade_stored` reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import Number, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.tables import ExitTables


@dataclass(frozen=True)
class BudgetParams(PolicyParams):
    """``exit_layer``: the 1-based exit where every sample stops (beyond the last exit means the last)."""

    exit_layer: int = parameter(Number(minimum=1, integer=True))


@register_policy
class BudgetPolicy(ExitPolicy):
    name = "budget"
    params_type = BudgetParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        """Every exit as a static budget: the per-exit points of the trade-off."""
        return [{"exit_layer": index + 1} for index in range(len(error_rates))]

    @classmethod
    def upgrade_stored(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """Stored ``{"exit_index": k}`` (0-based, before version 0.2's rename) is ``{"exit_layer": k + 1}``."""
        upgraded = dict(params)
        if "exit_index" in upgraded and "exit_layer" not in upgraded:
            upgraded["exit_layer"] = upgraded.pop("exit_index") + 1
        return upgraded

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return torch.full((logits.shape[0],), exit_index + 1 >= self.params.exit_layer, device=logits.device)

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        exit_layers = torch.arange(1, tables.num_exits + 1, device=tables.layer_logits.device)
        return (exit_layers >= self.params.exit_layer)[:, None].expand(tables.num_exits, tables.batch_size)
