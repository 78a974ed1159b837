"""Entropy policy (DeeBERT, Xin et al., 2020): exit as soon as the prediction entropy is below tau."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import Flag, Number, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.scores import entropy
from epee.policies.tables import ExitTables

TAUS = (0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
"""Default grid, on normalised entropy (in [0, 1] for any number of classes), so one grid fits every task."""


@dataclass(frozen=True)
class EntropyParams(PolicyParams):
    """``tau``: exit when entropy < tau. ``normalized``: divide by ln C (ln 2 per label), so tau is in [0, 1].

    DeeBERT thresholds the raw entropy (``normalized=False``); the normalised form is the default
    because one grid of tau then fits any number of classes.
    """

    tau: float = parameter(Number(minimum=0))
    normalized: bool = parameter(Flag(), default=True)


@register_policy
class EntropyPolicy(ExitPolicy):
    name = "entropy"
    params_type = EntropyParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"tau": tau, "normalized": True} for tau in TAUS]

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return entropy(logits, state.multi_label, self.params.normalized) < self.params.tau

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        return tables.entropy(self.params.normalized) < self.params.tau
