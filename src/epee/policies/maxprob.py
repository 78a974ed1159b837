"""Max-probability policy: exit when the top class probability reaches a threshold.

Multi-label: every label must be that sure, i.e. max(p, 1 - p) >= threshold for each label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import Number, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.scores import max_probability
from epee.policies.tables import ExitTables

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99, 0.995, 0.999)

BELOW_ONE = Number(minimum=0, maximum=1, open_maximum=True)
"""Probability thresholds are in [0, 1): a probability of exactly 1 is reached only when float32 rounds a
saturated softmax (logits about 17 apart), so a threshold of 1 would fire on rounding, not on confidence."""


@dataclass(frozen=True)
class MaxProbParams(PolicyParams):
    """``threshold``: exit when the (least sure label's) top probability >= threshold, in [0, 1)."""

    threshold: float = parameter(BELOW_ONE)


@register_policy
class MaxProbPolicy(ExitPolicy):
    name = "maxprob"
    params_type = MaxProbParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"threshold": threshold} for threshold in THRESHOLDS]

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return max_probability(logits, state.multi_label) >= self.params.threshold

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        return tables.max_probability() >= self.params.threshold
