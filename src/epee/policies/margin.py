"""Margin policy: exit when the top-1 probability leads the top-2 by at least a threshold.

Multi-label: the least sure label's |2p - 1| (its margin between "on" and "off") must reach it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, PolicyState
from epee.policies.checks import check_unit_interval
from epee.policies.scores import margin


@dataclass(frozen=True)
class MarginParams:
    """``threshold``: exit when top1 - top2 (multi-label: min |2p - 1|) >= threshold, in [0, 1]."""

    threshold: float

    def __post_init__(self) -> None:
        check_unit_interval("margin", "threshold", self.threshold)


class MarginPolicy(ExitPolicy):
    name = "margin"
    params_type = MarginParams

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return margin(logits, state.multi_label) >= self.params.threshold
