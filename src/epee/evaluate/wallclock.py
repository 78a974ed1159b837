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

import torch

from epee.models import MultiExitModel
from epee.policies.base import ExitPolicy
from epee.runtime.dynamic import early_exit_forward

Batch = Mapping[str, torch.Tensor]


@dataclass
class Timing:
    seconds: float  # total over all batches, median of the repeats
    batch_latencies: list[float]  # seconds per batch in the median repeat
    rows: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds

    def latency_percentile(self, percentile: float) -> float:
        ordered = sorted(self.batch_latencies)
        return ordered[min(len(ordered) - 1, int(round(percentile / 100 * (len(ordered) - 1))))]


@torch.inference_mode()
def plain_forward(model: MultiExitModel, inputs: Batch) -> torch.Tensor:
    """What users run today: the Hugging Face model's own forward, then the last exit's classifier."""
    hidden = model.backbone(**inputs, **model.family.extra_inputs_for_forward(inputs)).last_hidden_state
    features = model.family.pool_forward_output(hidden, inputs.get("attention_mask"))
    return model.heads(len(model.exit_layers) - 1, features)


def time_batches(
    run: Callable[[Batch], object], batches: Sequence[Batch], *, repeats: int = 3, warmup: int = 1
) -> Timing:
    """Run every batch ``warmup`` + ``repeats`` times; keep the repeat with the median total."""
    for _ in range(warmup):
        for batch in batches[: max(1, len(batches) // 4)]:
            run(batch)
    runs = []
    for _ in range(repeats):
        latencies = []
        for batch in batches:
            start = time.perf_counter()
            run(batch)
            latencies.append(time.perf_counter() - start)
        runs.append(latencies)
    median_total = statistics.median(sum(latencies) for latencies in runs)
    chosen = min(runs, key=lambda latencies: abs(sum(latencies) - median_total))
    rows = sum(next(iter(batch.values())).shape[0] for batch in batches)
    return Timing(seconds=sum(chosen), batch_latencies=chosen, rows=rows)


def compare_wallclock(
    model: MultiExitModel, batches: Sequence[Batch], policies: Mapping[str, ExitPolicy], *, repeats: int = 3
) -> dict[str, Timing]:
    """Timings of ``plain`` (Hugging Face), ``all_layers`` (epee, no early exit) and each named policy."""
    last_exit = _last_exit_policy(model)
    timings = {
        "plain": time_batches(lambda batch: plain_forward(model, batch), batches, repeats=repeats),
        "all_layers": time_batches(lambda batch: early_exit_forward(model, batch, last_exit), batches, repeats=repeats),
    }
    for name, policy in policies.items():
        timings[name] = time_batches(
            lambda batch, p=policy: early_exit_forward(model, batch, p), batches, repeats=repeats
        )
    return timings


def _last_exit_policy(model: MultiExitModel) -> ExitPolicy:
    from epee.policies import make_policy

    return make_policy("budget", exit_index=len(model.exit_layers) - 1)
