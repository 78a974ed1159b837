"""Wall clock of early exiting against the plain Hugging Face model, on real data.

    python -m benchmarks.throughput CHECKPOINT --dataset ddi --split test --rows 1000

Times, on the same inputs, machine, process and batch size:
  (a) plain   - the Hugging Face model users run today (AutoModel forward + the last exit head),
  (b) all     - epee's layer loop with every layer (the overhead of the adapter and exit checks),
  (c) policy  - epee with the checkpoint's calibrated exit policy.
at batch 1 (p50/p95 latency) and batch 32 (throughput), prints a table, and appends the results
with machine information to benchmarks/results/throughput.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from epee.data import load_dataset
from epee.evaluate.wallclock import compare_wallclock
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for
from epee.policies import policy_from_params
from epee.runtime import early_exit_forward
from epee.tasks.encoding import batch_indices

RESULTS = Path(__file__).parent / "results" / "throughput.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--split", default="test", choices=("dev", "test"))
    parser.add_argument("--rows", type=int, default=1000, help="Rows of the split to time (seeded sample).")
    parser.add_argument("--latency-rows", type=int, default=200, help="Rows timed one at a time at batch 1.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = MultiExitModel.from_pretrained(args.checkpoint)
    model.merge_peft()
    if model.config.policy is None:
        raise SystemExit(f"{args.checkpoint} has no calibrated policy; run `epee calibrate` first.")
    policy = policy_from_params(model.config.policy)
    dataset = load_dataset(args.dataset)
    examples = getattr(dataset, args.split)
    chosen = np.random.default_rng(0).permutation(len(examples))[: args.rows]
    featurizer = featurizer_for(model)
    split = encode_split(featurizer, [examples[i] for i in sorted(chosen)], model)

    results = {}
    for batch_size, rows in ((1, args.latency_rows), (args.batch_size, len(split))):
        order = batch_indices(min(rows, len(split)), batch_size, lengths=split.lengths[:rows])
        batches = [featurizer.collate([split.features[i] for i in batch]) for batch in order]
        timings = compare_wallclock(model, batches, {"policy": policy}, repeats=args.repeats)
        results[batch_size] = timings

    exit_layers = torch.cat(
        [
            early_exit_forward(model, batch, policy).exit_layers(model.exit_layers)
            for batch in (
                featurizer.collate([split.features[i] for i in rows])
                for rows in batch_indices(len(split), args.batch_size, lengths=split.lengths)
            )
        ]
    )
    layer_speedup = model.num_layers / exit_layers.float().mean().item()
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "checkpoint": str(args.checkpoint),
        "dataset": args.dataset,
        "split": args.split,
        "rows": len(split),
        "policy": model.config.policy,
        "layer_speedup": layer_speedup,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "threads": args.threads,
            "torch": torch.__version__,
            "device": "cpu",
        },
        "batch": {
            str(batch_size): {
                name: {
                    "seconds": t.seconds,
                    "rows_per_second": t.rows_per_second,
                    "p50_ms": 1000 * t.latency_percentile(50),
                    "p95_ms": 1000 * t.latency_percentile(95),
                }
                for name, t in timings.items()
            }
            for batch_size, timings in results.items()
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as stream:
        stream.write(json.dumps(record) + "\n")
    _print(record, layer_speedup)


def _print(record: dict, layer_speedup: float) -> None:
    table = Table(
        title=f"Wall clock on {record['rows']} {record['dataset']} {record['split']} rows, "
        f"{record['machine']['threads']} CPU threads (layer speed-up {layer_speedup:.2f}x)"
    )
    for column in (
        "batch",
        "path",
        "rows/s",
        "p50 ms/batch",
        "p95 ms/batch",
        "speed-up vs plain",
        "share of layer speed-up",
    ):
        table.add_column(column, justify="right")
    for batch_size, paths in record["batch"].items():
        plain = paths["plain"]["seconds"]
        for name, label in (
            ("plain", "(a) plain HF"),
            ("all_layers", "(b) epee all layers"),
            ("policy", "(c) epee policy"),
        ):
            speedup = plain / paths[name]["seconds"]
            share = f"{100 * speedup / layer_speedup:.0f}%" if name == "policy" else "-"
            table.add_row(
                batch_size,
                label,
                f"{paths[name]['rows_per_second']:.1f}",
                f"{paths[name]['p50_ms']:.1f}",
                f"{paths[name]['p95_ms']:.1f}",
                f"{speedup:.2f}x",
                share,
            )
        table.add_section()
    Console().print(table)


if __name__ == "__main__":
    main()
