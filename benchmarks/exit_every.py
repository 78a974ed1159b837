"""What the exit heads cost at full depth: an exit after every layer vs ``--exit-every k``, on SmolLM2-135M.

    python -m benchmarks.exit_every [--every 3 --rows 64 --max-length 64 --repeats 5]

SmolLM2's 30 exits (a head and a policy step after every layer) cost 4-13% of a full-depth pass
(BENCHMARKS.md, "SmolLM2-135M"). Three paths run the same batches of 32, interleaved in random order
each round: the plain Hugging Face model with the last exit head; epee's loop through all 30 layers
with all 30 exits; and the same loop with an exit every k layers (k, 2k, ..., 30). Both multi-exit
models share one backbone object, so only the heads and policy steps differ. Each figure is the median
over rounds of plain seconds / path seconds, with the slowest and fastest round. Texts are seeded
random words (their meaning does not matter at full depth); heads are untrained (the same for speed).
Results go to ``benchmarks/results/exit_every/<backbone>.json`` and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import replace
from pathlib import Path

import torch

from benchmarks.render import write_benchmarks_md
from benchmarks.render_exit_every import EXIT_EVERY_DIR
from benchmarks.suite import machine
from epee.evaluate.wallclock import plain_forward, speedup_over, time_interleaved
from epee.models import MultiExitModel
from epee.policies import make_policy
from epee.runtime.dynamic import early_exit_forward

WORDS = "aspirin dose daily tablet rash nausea pain relief worse better sleep headache patient increased levels".split()


def texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) for _ in range(count)]


def run(backbone: str, *, every: int, rows: int, max_length: int, repeats: int, seed: int) -> dict:
    torch.manual_seed(seed)
    every_layer = MultiExitModel.from_backbone(backbone, label_names=["no", "yes"], max_length=max_length).eval()
    sparse = MultiExitModel(
        replace(every_layer.config, exit_every=every), every_layer.backbone, every_layer.tokenizer
    ).eval()
    tokenizer = every_layer.tokenizer
    rows_of_text = texts(rows, seed)
    batches = [
        dict(
            tokenizer(
                rows_of_text[start : start + 32],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
        )
        for start in range(0, rows, 32)
    ]
    last_exit = make_policy("budget", exit_layer=len(every_layer.exit_layers))
    last_sparse_exit = make_policy("budget", exit_layer=len(sparse.exit_layers))
    runs = {
        "plain": lambda batch: plain_forward(every_layer, batch),
        "every_layer": lambda batch: early_exit_forward(every_layer, batch, last_exit),
        f"every_{every}": lambda batch: early_exit_forward(sparse, batch, last_sparse_exit),
    }
    timings = time_interleaved(runs, batches, rounds=repeats, seed=seed, progress=True)
    speedups = {}
    for name in runs:
        if name != "plain":
            estimate = speedup_over(timings["plain"], timings[name])
            speedups[name] = {"median": estimate.median, "low": estimate.low, "high": estimate.high}
    sparse_over_every = speedup_over(timings["every_layer"], timings[f"every_{every}"])
    return {
        "backbone": backbone,
        "num_layers": every_layer.num_layers,
        "exit_layers": {"every_layer": every_layer.exit_layers, f"every_{every}": sparse.exit_layers},
        "rows": rows,
        "batch_size": 32,
        "max_length": max_length,
        "repeats": repeats,
        "speedup_over_plain": speedups,
        "every_k_over_every_layer": {
            "median": sparse_over_every.median,
            "low": sparse_over_every.low,
            "high": sparse_over_every.high,
        },
        "seconds": {name: timing.seconds for name, timing in timings.items()},
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--rows", type=int, default=64, help="Rows timed per path and round (batches of 32).")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="Interleaved timing rounds.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--results", type=Path, default=EXIT_EVERY_DIR, help="Where the JSON goes (BENCHMARKS.md reads the default)."
    )
    args = parser.parse_args()
    result = run(
        args.backbone,
        every=args.every,
        rows=args.rows,
        max_length=args.max_length,
        repeats=args.repeats,
        seed=args.seed,
    )
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{Path(args.backbone).name}.json"
    staging = path.with_suffix(".json.partial")
    staging.write_text(json.dumps(result, indent=2) + "\n")
    staging.replace(path)
    for name, figure in result["speedup_over_plain"].items():
        print(f"{name} vs plain: {figure['median']:.3f}x [{figure['low']:.3f}-{figure['high']:.3f}]")
    figure = result["every_k_over_every_layer"]
    print(f"every_{args.every} vs every_layer: {figure['median']:.3f}x [{figure['low']:.3f}-{figure['high']:.3f}]")
    print(f"results in {path}")
    if args.results == EXIT_EVERY_DIR:
        print(f"Wrote {write_benchmarks_md()}.")


if __name__ == "__main__":
    main()
