"""Measured wall clock, the figure that counts: the plain Hugging Face model against epee.

All paths see the same pre-built batches (same inputs, batch size, process and machine), so the
only difference is the computation: ``backbone(**inputs)`` + the last exit head, the same model
through epee's layer loop with every layer, and epee with early exits.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.policies.base import ExitPolicy
from epee.runtime.dynamic import early_exit_forward

Batch = Mapping[str, torch.Tensor]


BUSY = "machine too busy to time"
"""The flag on a wall-clock figure that cannot be trusted (see :meth:`SpeedupEstimate.flag`)."""
EXCESS_LIMIT = 1.10
"""A wall-clock speed-up more than 10% above the layer speed-up is impossible: embeddings, exit heads and
the loop cost time that skipping layers does not save. Such a figure measures the machine's other load."""
SPREAD_LIMIT = 0.25
"""Rounds whose speed-ups differ by more than 25% of their median give no single figure worth printing."""


@dataclass
class Timing:
    """One path's seconds over all batches in each interleaved round."""

    round_seconds: list[float]
    batch_latencies: list[float]  # seconds per batch in the round closest to the median
    rows: int

    @property
    def seconds(self) -> float:
        return statistics.median(self.round_seconds)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds

    def latency_percentile(self, percentile: float) -> float:
        ordered = sorted(self.batch_latencies)
        return ordered[min(len(ordered) - 1, int(round(percentile / 100 * (len(ordered) - 1))))]


@dataclass(frozen=True)
class SpeedupEstimate:
    """A wall-clock speed-up as the median of per-round ratios, with the lowest and highest round."""

    median: float
    low: float
    high: float

    @property
    def relative_spread(self) -> float:
        return (self.high - self.low) / self.median

    def flag(self, layer_speedup: float) -> str | None:
        """``BUSY`` when the figure beats the layer speed-up by more than 10% or the rounds disagree widely."""
        if self.median > EXCESS_LIMIT * layer_speedup or self.relative_spread > SPREAD_LIMIT:
            return BUSY
        return None


def speedup_over(baseline: Timing, path: Timing) -> SpeedupEstimate:
    """Per round, baseline seconds / path seconds: both ran in the same round, so they saw the same load."""
    ratios = [base / other for base, other in zip(baseline.round_seconds, path.round_seconds, strict=True)]
    return SpeedupEstimate(statistics.median(ratios), min(ratios), max(ratios))


@torch.inference_mode()
def plain_forward(model: MultiExitModel, inputs: Batch) -> torch.Tensor:
    """What users run today: the Hugging Face model's own forward, then the last exit's classifier."""
    hidden = model.backbone(**inputs, **model.family.extra_inputs_for_forward(inputs)).last_hidden_state
    features = model.family.pool_forward_output(hidden, inputs.get("attention_mask"))
    return model.heads(len(model.exit_layers) - 1, features)


def time_interleaved(
    runs: Mapping[str, Callable[[Batch], object]],
    batches: Sequence[Batch],
    *,
    rounds: int = 5,
    warmup: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Timing]:
    """Time every path over all batches once per round, the paths in a fresh random order each round.

    Timing the paths one after another in a fixed order lets a burst of other work on the machine land
    on one path only; interleaving spreads it over all of them, and per-round ratios cancel slow drifts.
    """
    if rounds < 1:
        raise EpeeError(f"Wall clock needs at least one round, got {rounds}.")
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            for batch in batches[: max(1, len(batches) // 4)]:
                runs[name](batch)
    rng = np.random.default_rng(seed)
    latencies: dict[str, list[list[float]]] = {name: [] for name in names}
    with tqdm(total=rounds * len(names), desc="wall clock", unit="path", disable=not progress) as bar:
        for _ in range(rounds):
            for position in rng.permutation(len(names)):
                name = names[position]
                per_batch = []
                for batch in batches:
                    start = time.perf_counter()
                    runs[name](batch)
                    per_batch.append(time.perf_counter() - start)
                latencies[name].append(per_batch)
                bar.update(1)
    rows = sum(next(iter(batch.values())).shape[0] for batch in batches)
    timings = {}
    for name, per_round in latencies.items():
        totals = [sum(per_batch) for per_batch in per_round]
        median = statistics.median(totals)
        typical = min(per_round, key=lambda per_batch: abs(sum(per_batch) - median))
        timings[name] = Timing(round_seconds=totals, batch_latencies=typical, rows=rows)
    return timings


def compare_wallclock(
    model: MultiExitModel,
    batches: Sequence[Batch],
    policies: Mapping[str, ExitPolicy],
    *,
    repeats: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Timing]:
    """Timings of ``plain`` (Hugging Face), ``all_layers`` (epee, no early exit) and each named policy,
    interleaved over ``repeats`` rounds."""
    last_exit = _last_exit_policy(model)
    runs: dict[str, Callable[[Batch], object]] = {
        "plain": lambda batch: plain_forward(model, batch),
        "all_layers": lambda batch: early_exit_forward(model, batch, last_exit),
    }
    for name, policy in policies.items():
        runs[name] = lambda batch, p=policy: early_exit_forward(model, batch, p)
    return time_interleaved(runs, batches, rounds=repeats, seed=seed, progress=progress)


def _last_exit_policy(model: MultiExitModel) -> ExitPolicy:
    from epee.policies import make_policy

    return make_policy("budget", exit_layer=len(model.exit_layers))
