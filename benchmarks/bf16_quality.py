"""Does bf16 autocast lower the dev metric? The same small real run in fp32 and in bf16, side by side.

    python -m benchmarks.bf16_quality --dataset ddi --train 1000 --dev 600 --epochs 2

Both arms train the same fresh model (all-MiniLM-L6-v2 + LoRA, the suite's text recipe) on the
same seeded rows with the same batches; only the forward pass's precision differs. Prints the
per-exit dev metric of each arm's best evaluation and the difference, and appends them to
benchmarks/results/bf16_quality.jsonl.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

from epee.data import load_dataset
from epee.defaults import DEFAULT_BACKBONE
from epee.train import TrainingSettings
from epee.workflow.fit import build_text_model, train_on_dataset

RESULTS = Path(__file__).parent / "results" / "bf16_quality.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ddi")
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--dev", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = load_dataset(args.dataset, max_examples={"train": args.train, "dev": args.dev}, seed=0)
    torch.manual_seed(0)
    model = build_text_model(dataset, backbone=DEFAULT_BACKBONE)
    arms = {}
    for precision in ("fp32", "bf16"):
        settings = TrainingSettings(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=1e-3,
            head_learning_rate=3e-3,
            precision=precision,
        )
        started = time.perf_counter()
        history = train_on_dataset(copy.deepcopy(model), dataset, settings).history
        best = history.epochs[history.best_epoch].dev_exit_metrics
        arms[precision] = {"dev_exit_metrics": best, "seconds": time.perf_counter() - started}
        print(f"{precision}: dev {dataset.metric} per exit {np.round(np.multiply(best, 100), 1).tolist()}")
    difference = np.subtract(arms["bf16"]["dev_exit_metrics"], arms["fp32"]["dev_exit_metrics"])
    print(
        f"bf16 - fp32, points per exit: {np.round(100 * difference, 1).tolist()}; mean {100 * difference.mean():+.2f}"
    )
    record = {**vars(args), "metric": dataset.metric, "arms": arms, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ")}
    with RESULTS.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
