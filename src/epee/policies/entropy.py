"""Entropy policy (DeeBERT, Xin et al., 2020): exit as soon as the prediction entropy is below tau."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from epee.policies.base import ExitPolicy, PolicyState
from epee.policies.checks import check_non_negative
from epee.policies.scores import entropy


@dataclass(frozen=True)
class EntropyParams:
    """``tau``: exit when entropy < tau. ``normalized``: divide by ln C (ln 2 per label), so tau is in [0, 1].

    DeeBERT thresholds the raw entropy (``normalized=False``); the normalised form is the default
    because one grid of tau then fits any number of classes.
    """

    tau: float
    normalized: bool = True

    def __post_init__(self) -> None:
        check_non_negative("entropy", "tau", self.tau)


class EntropyPolicy(ExitPolicy):
    name = "entropy"
    params_type = EntropyParams

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return entropy(logits, state.multi_label, self.params.normalized) < self.params.tau
