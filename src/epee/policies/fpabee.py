"""F-PABEE policy (Xu et al., 2022): exit after t consecutive small changes of the predicted distribution.

Where PABEE asks for an unchanged argmax, F-PABEE asks that the divergence between the previous
exit's distribution p and this exit's distribution q stay below tau for t exits in a row, so the
earliest exit is exit index t. Divergences (see :func:`epee.policies.scores.divergence`):
``kl`` = KL(p_previous || p_current), ``reverse_kl`` = KL(p_current || p_previous),
``symmetric_kl`` = their sum, ``js`` = Jensen-Shannon. Multi-label: per-label Bernoulli
divergences, summed over labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import Choice, Number, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.scores import DIVERGENCES, divergence, log_distribution
from epee.policies.tables import ExitTables, consecutive_runs, count_consecutive

TAUS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.2)
PATIENCES = (1, 2, 3, 4)
GRID_DIVERGENCES = ("js", "kl")


@dataclass(frozen=True)
class FPABEEParams(PolicyParams):
    """``tau``: divergence threshold (nats); ``patience``: small changes in a row needed; ``divergence``: which."""

    tau: float = parameter(Number(minimum=0))
    patience: int = parameter(Number(minimum=0, integer=True))
    divergence: str = parameter(Choice(DIVERGENCES), default="js")


@register_policy
class FPABEEPolicy(ExitPolicy):
    name = "fpabee"
    params_type = FPABEEParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [
            {"tau": tau, "patience": patience, "divergence": kind}
            for kind, tau, patience in product(GRID_DIVERGENCES, TAUS, PATIENCES)
        ]

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return {"stable_run": torch.zeros(batch_size, dtype=torch.long, device=device)}

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        log_current = log_distribution(logits, state.multi_label)
        if exit_index > 0:
            change = divergence(state.tensors["previous_log_distribution"], log_current, self.params.divergence)
            state.tensors["stable_run"] = count_consecutive(state.tensors["stable_run"], change < self.params.tau)
        state.tensors["previous_log_distribution"] = log_current
        return state.tensors["stable_run"] >= self.params.patience

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        small_change = tables.divergence(self.params.divergence) < self.params.tau
        return consecutive_runs(small_change) >= self.params.patience
