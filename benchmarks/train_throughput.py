"""Training throughput (samples/s) before and after length bucketing and bf16 autocast, on real data.

    python -m benchmarks.train_throughput --dataset ddi --rows 1600 --steps 20 --rounds 3

Trains the same fresh model (all-MiniLM-L6-v2 + LoRA, the suite's text recipe) for ``--steps``
optimizer steps on the same seeded training rows under four arms, in interleaved rounds whose
order is shuffled each round:
  before    - shuffled batches, fp32 (epee's training loop before bucketing and bf16)
  bucketed  - length-bucketed batches, fp32
  bf16      - shuffled batches, bf16 autocast
  after     - length-bucketed batches, bf16 autocast (the defaults on a bf16-capable CPU)
Prints each arm's median samples/s and its speed-up over ``before`` (median ratio within a round,
with the range over rounds), and appends the results to benchmarks/results/train_throughput.jsonl.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from epee.data import load_dataset
from epee.defaults import DEFAULT_BACKBONE
from epee.models.inputs import encode_split, featurizer_for
from epee.tasks.metrics import metric_for
from epee.train import TrainingSettings, train
from epee.train.precision import cpu_supports_bf16
from epee.workflow.fit import build_text_model

RESULTS = Path(__file__).parent / "results" / "train_throughput.jsonl"
ARMS = {
    "before": dict(bucket_batches=False, precision="fp32"),
    "bucketed": dict(bucket_batches=True, precision="fp32"),
    "bf16": dict(bucket_batches=False, precision="bf16"),
    "after": dict(bucket_batches=True, precision="bf16"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ddi")
    parser.add_argument("--rows", type=int, default=1600, help="Training rows (seeded sample); 1,600 = 100 batches.")
    parser.add_argument("--steps", type=int, default=20, help="Optimizer steps timed per arm and round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    arms = ARMS if cpu_supports_bf16() else {name: arm for name, arm in ARMS.items() if arm["precision"] == "fp32"}

    dataset = load_dataset(args.dataset, max_examples={"train": args.rows}, seed=0)
    torch.manual_seed(0)
    model = build_text_model(dataset, backbone=DEFAULT_BACKBONE, max_length=args.max_length)
    featurizer = featurizer_for(model)
    split = encode_split(featurizer, dataset.train, model)
    metric = metric_for(dataset, "dev")

    seconds: dict[str, list[float]] = {name: [] for name in arms}
    rng = np.random.default_rng(0)
    for round_number in range(args.rounds):
        for name in rng.permutation(list(arms)):
            settings = TrainingSettings(
                epochs=1, batch_size=args.batch_size, max_steps=args.steps, learning_rate=1e-3, **arms[name]
            )
            candidate = copy.deepcopy(model)
            started = time.perf_counter()
            train(candidate, featurizer, split, None, settings, metric)
            seconds[name].append(time.perf_counter() - started)
            print(f"round {round_number + 1} {name}: {args.steps * args.batch_size / seconds[name][-1]:.1f} samples/s")

    samples = args.steps * args.batch_size
    summary = {}
    for name in arms:
        ratios = np.array(seconds["before"]) / np.array(seconds[name])
        summary[name] = {
            "samples_per_second": float(np.median(samples / np.array(seconds[name]))),
            "speedup_median": float(np.median(ratios)),
            "speedup_range": [float(ratios.min()), float(ratios.max())],
            "seconds": seconds[name],
        }
        print(
            f"{name:>9}: {summary[name]['samples_per_second']:6.1f} samples/s, "
            f"{summary[name]['speedup_median']:.2f}x before (range {ratios.min():.2f}-{ratios.max():.2f})"
        )
    record = {
        "dataset": args.dataset,
        "rows": args.rows,
        "steps": args.steps,
        "rounds": args.rounds,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "threads": args.threads,
        "load_average": os.getloadavg(),
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "arms": summary,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
