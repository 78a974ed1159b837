"""Calibration's fast path: the exits of a whole parameter grid from scores computed once.

:func:`epee.policies.simulate` steps a policy exit by exit, exactly as the runtime does; it is the
definition of what a policy does. Calibration evaluates hundreds of parameter points on the same
cached logits, and most of each point's work (softmax, entropy, predictions, divergences) does
not depend on the thresholds being searched. Here each policy's rule is restated over the whole
``[exits, batch]`` table: the threshold-free scores are computed once per grid (:class:`ExitTables`)
and only the comparisons run per point. ``tests/calibrate/test_fast_grid.py`` proves the result
equal to :func:`~epee.policies.simulate` for every rule; a policy without a rule here is simulated.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from itertools import pairwise

import torch

from epee.errors import EpeeError
from epee.policies import ExitPolicy, simulate
from epee.policies.base import count_consecutive
from epee.policies.scores import (
    divergence,
    entropy,
    log_distribution,
    margin,
    max_probability,
    predictions,
    same_prediction,
)


class ExitTables:
    """Threshold-free per-exit scores ``[exits, batch]`` of one set of cached logits, each computed once."""

    def __init__(self, layer_logits: torch.Tensor, multi_label: bool) -> None:
        self.layer_logits = layer_logits  # [exits, batch, classes]
        self.multi_label = multi_label
        self.num_exits, self.batch_size, _ = layer_logits.shape
        self.entropy = cache(self._entropy)
        self.max_probability = cache(self._per_exit(max_probability))
        self.margin = cache(self._per_exit(margin))
        self.agree_with_previous = cache(self._agree_with_previous)
        self.unchanged_run = cache(self._unchanged_run)
        self.divergence = cache(self._divergence)
        self.beem_score = cache(self._beem_score)

    def _per_exit(self, score: Callable[[torch.Tensor, bool], torch.Tensor]) -> Callable[[], torch.Tensor]:
        def per_exit() -> torch.Tensor:
            return torch.stack([score(logits, self.multi_label) for logits in self.layer_logits])

        return per_exit

    def _entropy(self, normalized: bool) -> torch.Tensor:
        return torch.stack([entropy(logits, self.multi_label, normalized) for logits in self.layer_logits])

    def _agree_with_previous(self) -> torch.Tensor:
        """Whether exit i predicts what exit i - 1 did; False at exit 0."""
        labels = [predictions(logits, self.multi_label) for logits in self.layer_logits]
        agree = [torch.zeros(self.batch_size, dtype=torch.bool, device=self.layer_logits.device)]
        agree += [same_prediction(previous, current, self.multi_label) for previous, current in pairwise(labels)]
        return torch.stack(agree)

    def _unchanged_run(self) -> torch.Tensor:
        """PABEE's counter after each exit (see :mod:`epee.policies.patience`)."""
        return consecutive_runs(self.agree_with_previous())

    def _divergence(self, kind: str) -> torch.Tensor:
        """Divergence between exit i - 1 and exit i (see :mod:`epee.policies.fpabee`); +inf at exit 0."""
        log_distributions = [log_distribution(logits, self.multi_label) for logits in self.layer_logits]
        changes = [torch.full((self.batch_size,), float("inf"), device=self.layer_logits.device)]
        changes += [divergence(p, q, kind) for p, q in pairwise(log_distributions)]
        return torch.stack(changes)

    def _beem_score(self, weights: tuple[float, ...]) -> torch.Tensor:
        """BEEM's aggregated score S_i after each exit (see :mod:`epee.policies.beem`)."""
        if len(weights) < self.num_exits:
            raise EpeeError(
                f"The beem policy has weights for {len(weights)} exits but the cached logits have {self.num_exits}; "
                "give one weight (or accuracy, or num_exits) per exit of the model."
            )
        agree = self.agree_with_previous()
        confidence = self.max_probability()
        scores = [weights[0] * confidence[0]]
        for index in range(1, self.num_exits):
            weighted = weights[index] * confidence[index]
            scores.append(torch.where(agree[index], scores[-1] + weighted, weighted))
        return torch.stack(scores)


def consecutive_runs(hits: torch.Tensor) -> torch.Tensor:
    """Length of the run of hits ending at each exit ``[exits, batch]`` (the policies' consecutive counters)."""
    runs = [count_consecutive(torch.zeros_like(hits[0], dtype=torch.long), hits[0])]
    for hit in hits[1:]:
        runs.append(count_consecutive(runs[-1], hit))
    return torch.stack(runs)


def _budget_fires(policy: ExitPolicy, tables: ExitTables) -> torch.Tensor:
    exit_indices = torch.arange(tables.num_exits, device=tables.layer_logits.device)
    return (exit_indices >= policy.params.exit_index)[:, None].expand(tables.num_exits, tables.batch_size)


FIRE_RULES: dict[str, Callable[[ExitPolicy, ExitTables], torch.Tensor]] = {
    "entropy": lambda policy, tables: tables.entropy(policy.params.normalized) < policy.params.tau,
    "maxprob": lambda policy, tables: tables.max_probability() >= policy.params.threshold,
    "margin": lambda policy, tables: tables.margin() >= policy.params.threshold,
    "patience": lambda policy, tables: tables.unchanged_run() >= policy.params.patience,
    "pcee": lambda policy, tables: consecutive_runs(tables.entropy(True) < policy.params.tau) >= policy.params.patience,
    "epee": lambda policy, tables: (
        (tables.unchanged_run() >= policy.params.patience) | (tables.entropy(True) < policy.params.tau)
    ),
    "fpabee": lambda policy, tables: (
        consecutive_runs(tables.divergence(policy.params.divergence) < policy.params.tau) >= policy.params.patience
    ),
    "beem": lambda policy, tables: tables.beem_score(policy.weights) >= policy.params.alpha,
    "budget": _budget_fires,
}
"""Per policy name: where the policy would fire at each exit ``[exits, batch]``, before the last-exit fallback."""


def fast_exit_index(policy: ExitPolicy, tables: ExitTables) -> torch.Tensor:
    """Exit index of every sample ``[batch]``, equal to ``simulate(policy, ...).exit_index``."""
    if policy.name not in FIRE_RULES:
        return simulate(policy, tables.layer_logits, multi_label=tables.multi_label).exit_index
    fires = FIRE_RULES[policy.name](policy, tables).clone()  # [exits, batch]
    fires[-1] = True  # the fallback of step_with_fallback
    return fires.byte().argmax(dim=0)  # argmax returns the first maximum: the earliest exit that fires
