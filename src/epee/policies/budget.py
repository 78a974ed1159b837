"""Budget policy: every sample exits at the same exit, a static shallower model to compare against."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, PolicyState
from epee.policies.checks import check_count


@dataclass(frozen=True)
class BudgetParams:
    """``exit_index``: the 0-based exit where every sample stops (beyond the last exit means the last)."""

    exit_index: int

    def __post_init__(self) -> None:
        check_count("budget", "exit_index", self.exit_index)


class BudgetPolicy(ExitPolicy):
    name = "budget"
    params_type = BudgetParams

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return torch.full((logits.shape[0],), exit_index >= self.params.exit_index, device=logits.device)
