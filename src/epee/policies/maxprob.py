"""Max-probability policy: exit when the top class probability reaches a threshold.

Multi-label: every label must be that sure, i.e. max(p, 1 - p) >= threshold for each label.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, PolicyState
from epee.policies.checks import check_unit_interval
from epee.policies.scores import max_probability


@dataclass(frozen=True)
class MaxProbParams:
    """``threshold``: exit when the (least sure label's) top probability >= threshold, in [0, 1]."""

    threshold: float

    def __post_init__(self) -> None:
        check_unit_interval("maxprob", "threshold", self.threshold)


class MaxProbPolicy(ExitPolicy):
    name = "maxprob"
    params_type = MaxProbParams

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return max_probability(logits, state.multi_label) >= self.params.threshold
