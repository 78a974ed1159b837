"""Margin policy: exit when the top-1 probability leads the top-2 by at least a threshold.

Multi-label: the least sure label's |2p - 1| (its margin between "on" and "off") must reach it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.maxprob import BELOW_ONE
from epee.policies.params import PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.scores import margin
from epee.policies.tables import ExitTables

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class MarginParams(PolicyParams):
    """``threshold``: exit when top1 - top2 (multi-label: min |2p - 1|) >= threshold, in [0, 1).

    A margin of exactly 1 needs a top probability of exactly 1, reached only by float32 rounding.
    """

    threshold: float = parameter(BELOW_ONE)


@register_policy
class MarginPolicy(ExitPolicy):
    name = "margin"
    params_type = MarginParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"threshold": threshold} for threshold in THRESHOLDS]

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return margin(logits, state.multi_label) >= self.params.threshold

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        return tables.margin() >= self.params.threshold
