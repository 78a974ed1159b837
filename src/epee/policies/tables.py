"""Whole tables of exits at once: the fast path calibration uses to search hundreds of parameter points.

:func:`epee.policies.simulate` steps a policy exit by exit, exactly as the runtime does; it is the
definition of what a policy does. Calibration evaluates hundreds of parameter points on the same
cached logits, and most of each point's work (softmax, entropy, predictions, divergences) does
not depend on the thresholds being searched. A policy may therefore restate its rule over the
whole ``[exits, batch]`` table (:meth:`~epee.policies.base.ExitPolicy.fire_table`): the
threshold-free scores are computed once per set of logits by :class:`ExitTables` and only the
comparisons run per point (:func:`~epee.policies.simulate.fast_exit_index`).
:func:`epee.policies.testing.check_policy` proves the result equal to :func:`~epee.policies.simulate`;
a policy without a table rule is simulated. The consecutive-run counter stepwise policies keep
(:func:`count_consecutive`) lives here too, so a table and a step count runs by the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from itertools import pairwise

import torch

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
    """Threshold-free per-exit scores ``[exits, batch]`` of one set of cached logits, each computed once.

    The common scores are methods; a policy with a score of its own caches it with :meth:`memo`.
    """

    def __init__(self, layer_logits: torch.Tensor, multi_label: bool) -> None:
        self.layer_logits = layer_logits  # [exits, batch, classes]
        self.multi_label = multi_label
        self.num_exits, self.batch_size, _ = layer_logits.shape
        self._memo: dict[Hashable, torch.Tensor] = {}

    def memo(self, key: Hashable, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        """``compute()`` the first time ``key`` is asked for, the stored table afterwards."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def per_exit(self, score: Callable[[torch.Tensor, bool], torch.Tensor]) -> torch.Tensor:
        """``score(logits, multi_label)`` of every exit, stacked ``[exits, batch]`` (not cached)."""
        return torch.stack([score(logits, self.multi_label) for logits in self.layer_logits])

    def entropy(self, normalized: bool) -> torch.Tensor:
        """Entropy of every exit (see :func:`~epee.policies.scores.entropy`)."""
        return self.memo(
            ("entropy", normalized), lambda: self.per_exit(lambda logits, ml: entropy(logits, ml, normalized))
        )

    def max_probability(self) -> torch.Tensor:
        """Top probability of every exit (see :func:`~epee.policies.scores.max_probability`)."""
        return self.memo("max_probability", lambda: self.per_exit(max_probability))

    def margin(self) -> torch.Tensor:
        """Top-1 minus top-2 probability of every exit (see :func:`~epee.policies.scores.margin`)."""
        return self.memo("margin", lambda: self.per_exit(margin))

    def agree_with_previous(self) -> torch.Tensor:
        """Whether exit i predicts what exit i - 1 did; False at exit 0."""

        def compute() -> torch.Tensor:
            labels = [predictions(logits, self.multi_label) for logits in self.layer_logits]
            agree = [torch.zeros(self.batch_size, dtype=torch.bool, device=self.layer_logits.device)]
            agree += [same_prediction(previous, current, self.multi_label) for previous, current in pairwise(labels)]
            return torch.stack(agree)

        return self.memo("agree_with_previous", compute)

    def unchanged_run(self) -> torch.Tensor:
        """PABEE's counter of consecutive unchanged predictions after each exit (see :mod:`epee.policies.patience`)."""
        return self.memo("unchanged_run", lambda: consecutive_runs(self.agree_with_previous()))

    def divergence(self, kind: str) -> torch.Tensor:
        """Divergence between exit i - 1 and exit i (see :mod:`epee.policies.fpabee`); +inf at exit 0."""

        def compute() -> torch.Tensor:
            log_distributions = [log_distribution(logits, self.multi_label) for logits in self.layer_logits]
            changes = [torch.full((self.batch_size,), float("inf"), device=self.layer_logits.device)]
            changes += [divergence(p, q, kind) for p, q in pairwise(log_distributions)]
            return torch.stack(changes)

        return self.memo(("divergence", kind), compute)


def count_consecutive(counter: torch.Tensor, hit: torch.Tensor) -> torch.Tensor:
    """Length of the current run of hits ``[batch]``: +1 where ``hit``, reset to 0 elsewhere."""
    return torch.where(hit, counter + 1, torch.zeros_like(counter))


def consecutive_runs(hits: torch.Tensor) -> torch.Tensor:
    """Length of the run of hits ending at each exit ``[exits, batch]`` (the policies' consecutive counters)."""
    runs = [count_consecutive(torch.zeros_like(hits[0], dtype=torch.long), hits[0])]
    for hit in hits[1:]:
        runs.append(count_consecutive(runs[-1], hit))
    return torch.stack(runs)
