"""How long calibration takes to search EPEE's published 66-point grid on 10,000 cached samples.

Random cached logits, 12 exits x 10,000 samples x 5 classes, deeper exits more accurate. Times
(best of ``--repeats``):

* ``fast grid``: the exits of all 66 points through calibration's fast path (scores computed once,
  then the policy's ``fire_table``);
* ``calibrate``: :func:`epee.calibrate.calibrate` on the EPEE grid, metric and speed figures included;
* ``simulate grid``: the 66 points through :func:`epee.policies.simulate`, the step()-based
  reference the runtime shares, which the fast path is checked against here as well.

Timed with one intra-op thread by default (``--threads 1 2`` compares): the tensors ([12, 10,000])
are too small to gain from threads, and on a busy machine every multi-threaded op can wait a
scheduler tick for a descheduled thread (seconds in all; see the report of this benchmark).

Run: ``python benchmarks/policy_grid.py``; results go to ``benchmarks/results/policy_grid.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from epee.calibrate import calibrate
from epee.policies import EPEEPolicy, ExitTables, fast_exit_index, make_policy, simulate

NUM_EXITS, NUM_SAMPLES, NUM_CLASSES = 12, 10_000, 5
RESULTS = Path(__file__).parent / "results" / "policy_grid.json"
DEFAULT_THREADS = torch.get_num_threads()


def cached_logits(seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """Logits ``[exits, samples, classes]`` whose gold-class signal grows with depth, and the gold labels."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(NUM_CLASSES, (NUM_SAMPLES,), generator=generator)
    noise = torch.randn(NUM_EXITS, NUM_SAMPLES, NUM_CLASSES, generator=generator)
    signal = torch.linspace(0.2, 3.0, NUM_EXITS)[:, None, None]
    difficulty = torch.rand(NUM_SAMPLES, generator=generator)[None, :, None] * 2  # some samples stay hard
    layer_logits = noise + signal * difficulty * torch.nn.functional.one_hot(labels, NUM_CLASSES)
    return layer_logits, labels.numpy()


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float((predictions == labels).mean())


def best_time(run: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="intra-op thread counts to time")
    args = parser.parse_args()

    layer_logits, labels = cached_logits()
    policies = [make_policy("epee", **params) for params in EPEEPolicy.default_grid([0.0] * NUM_EXITS)]

    def fast_grid() -> list[torch.Tensor]:
        tables = ExitTables(layer_logits, multi_label=False)
        return [fast_exit_index(policy, tables) for policy in policies]

    def simulate_grid() -> list[torch.Tensor]:
        return [simulate(policy, layer_logits, multi_label=False).exit_index for policy in policies]

    def calibrate_grid():
        return calibrate(
            layer_logits,
            labels,
            exit_layer_numbers=range(1, NUM_EXITS + 1),
            num_layers=NUM_EXITS,
            multi_label=False,
            metric=accuracy,
            metric_name="accuracy",
            policies=("epee",),
        )

    fast, reference = fast_grid(), simulate_grid()
    if not all(torch.equal(a, b) for a, b in zip(fast, reference, strict=True)):
        raise SystemExit("The fast path disagrees with simulate(); run tests/calibrate/test_fast_grid.py.")

    timings = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        timings[f"threads={threads}"] = {
            "fast_grid_s": best_time(fast_grid, args.repeats),
            "calibrate_s": best_time(calibrate_grid, args.repeats),
            "simulate_grid_s": best_time(simulate_grid, args.repeats),
        }
    result = calibrate_grid()
    frontier = result.frontier()

    print(f"EPEE grid: {len(policies)} points, {NUM_SAMPLES:,} samples x {NUM_EXITS} exits x {NUM_CLASSES} classes")
    print(f"torch {torch.__version__}, best of {args.repeats}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'':<16}" + "".join(f"{threads:>12}" for threads in timings))
    for name in ("fast_grid_s", "calibrate_s", "simulate_grid_s"):
        row = "".join(f"{timings[threads][name]:>10.3f} s" for threads in timings)
        print(f"  {name.removesuffix('_s'):<14}{row}")
    print(f"last-exit accuracy {result.last_exit_metric:.4f}; oracle layer speed-up {result.oracle.layer_speedup:.2f}x")
    print(f"{'tau':>7} {'patience':>8} {'accuracy':>9} {'speed-up':>9}   (Pareto frontier)")
    for point in frontier:
        tau, patience = point.params["tau"], point.params["patience"]
        print(f"{tau:>7} {patience:>8} {point.metric:>9.4f} {point.layer_speedup:>8.2f}x")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "setup": {
            "points": len(policies),
            "samples": NUM_SAMPLES,
            "exits": NUM_EXITS,
            "classes": NUM_CLASSES,
            "repeats": args.repeats,
            "torch": torch.__version__,
            "default_threads": DEFAULT_THREADS,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0],
            "machine": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
        "timings": timings,
        "frontier": [point.to_dict() for point in frontier],
        "calibration": result.to_dict(),
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
