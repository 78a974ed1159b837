"""EPEE policy (Zhan et al., 2025): the hybrid of PABEE's patience and DeeBERT's entropy tests.

A sample exits at the first exit where either test fires: its prediction has stayed unchanged
``patience`` times in a row, or its normalised entropy is below ``tau``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import Number, PolicyParams, parameter
from epee.policies.patience import unchanged_counter, update_unchanged_counter
from epee.policies.registry import register_policy
from epee.policies.scores import entropy
from epee.policies.tables import ExitTables

TAUS = (0.001, 0.005, 0.01, 0.03, 0.05, 0.1)
PATIENCES = tuple(range(1, 12))
"""EPEE's published search space (Zhan et al., 2025): 6 x 11 = 66 points. Patience values beyond
``num_exits - 1`` cannot fire before the last exit; the grid keeps them so results stay comparable."""


@dataclass(frozen=True)
class EPEEParams(PolicyParams):
    """``tau``: normalised-entropy threshold; ``patience``: unchanged predictions needed (as in PABEE)."""

    tau: float = parameter(Number(minimum=0))
    patience: int = parameter(Number(minimum=0, integer=True))


@register_policy
class EPEEPolicy(ExitPolicy):
    name = "epee"
    params_type = EPEEParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"tau": tau, "patience": patience} for tau, patience in product(TAUS, PATIENCES)]

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return unchanged_counter(batch_size, device)

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        patient = update_unchanged_counter(state, exit_index, logits) >= self.params.patience
        confident = entropy(logits, state.multi_label, normalized=True) < self.params.tau
        return patient | confident

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        return (tables.unchanged_run() >= self.params.patience) | (tables.entropy(True) < self.params.tau)
