"""F-PABEE policy (Xu et al., 2022): exit after t consecutive small changes of the predicted distribution.

Where PABEE asks for an unchanged argmax, F-PABEE asks that the divergence between the previous
exit's distribution p and this exit's distribution q stay below tau for t exits in a row, so the
earliest exit is exit index t. Divergences (see :func:`epee.policies.scores.divergence`):
``kl`` = KL(p_previous || p_current), ``reverse_kl`` = KL(p_current || p_previous),
``symmetric_kl`` = their sum, ``js`` = Jensen-Shannon. Multi-label: per-label Bernoulli
divergences, summed over labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, PolicyState, count_consecutive
from epee.policies.checks import check_choice, check_count, check_non_negative
from epee.policies.scores import DIVERGENCES, divergence, log_distribution


@dataclass(frozen=True)
class FPABEEParams:
    """``tau``: divergence threshold (nats); ``patience``: small changes in a row needed; ``divergence``: which."""

    tau: float
    patience: int
    divergence: str = "js"

    def __post_init__(self) -> None:
        check_non_negative("fpabee", "tau", self.tau)
        check_count("fpabee", "patience", self.patience)
        check_choice("fpabee", "divergence", self.divergence, DIVERGENCES)


class FPABEEPolicy(ExitPolicy):
    name = "fpabee"
    params_type = FPABEEParams

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return {"stable_run": torch.zeros(batch_size, dtype=torch.long, device=device)}

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        log_current = log_distribution(logits, state.multi_label)
        if exit_index > 0:
            change = divergence(state.tensors["previous_log_distribution"], log_current, self.params.divergence)
            state.tensors["stable_run"] = count_consecutive(state.tensors["stable_run"], change < self.params.tau)
        state.tensors["previous_log_distribution"] = log_current
        return state.tensors["stable_run"] >= self.params.patience
