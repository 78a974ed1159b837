"""The accuracy/speed table on every dataset of ``../shared/data``, from one command.

    python -m benchmarks.suite --datasets all --budget-minutes 8

For each dataset: train a multi-exit model (all-MiniLM-L6-v2 with LoRA for text, a ViT from
scratch for images) on a subsample sized for a CPU budget, calibrate every policy on dev with the
rule "fastest with metric >= last exit - 1 point", and evaluate every policy's choice on test
(metric, layer / FLOPs / measured wall-clock speed-up), beside the oracle bound.

Each dataset's results go to ``benchmarks/results/suite/<dataset>.json`` as soon as it finishes;
a rerun skips finished datasets (use ``--force`` to redo them), so a long run can be continued.
``BENCHMARKS.md`` is regenerated from all results at the end (``python -m benchmarks.render``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.logging import RichHandler

from benchmarks.render import RESULTS_DIR, write_benchmarks_md
from epee.data import load_dataset
from epee.defaults import DEFAULT_BACKBONE, SCRATCH_LEARNING_RATE
from epee.policies import oracle_exits
from epee.runtime.speed import layer_speedup
from epee.tasks.degeneracy import majority_predictions
from epee.tasks.metrics import binary_auc, metrics_beside
from epee.train import TrainingSettings
from epee.workflow.assessment import assess_on_test, calibrate_on_dev
from epee.workflow.fit import build_image_model, build_text_model, holds_images, train_on_dataset

logger = logging.getLogger("benchmarks.suite")

EPSILON = 0.01  # one point of the task metric (metrics are fractions)


@dataclass(frozen=True)
class Plan:
    """How one dataset is run: its subsample sizes and training settings, recorded in its results."""

    max_examples: dict[str, int] = field(default_factory=dict)
    loader_options: dict[str, object] = field(default_factory=dict)
    max_length: int = 128
    truncation: str = "head"
    epochs: int = 3
    batch_size: int = 16
    # LoRA at 3e-4 learns too little in the few hundred steps a CPU budget allows (see issue notes on DDI).
    learning_rate: float = 1e-3
    head_learning_rate: float = 3e-3


SENTENCES = {"train": 2000, "dev": 1000, "test": 1500}
PLANS: dict[str, Plan] = {
    "hoc": Plan(max_examples=SENTENCES),
    "chemprot": Plan(max_examples=SENTENCES),
    "ddi": Plan(max_examples=SENTENCES),
    "phee": Plan(max_examples=SENTENCES),
    "phee-trigger": Plan(max_examples=SENTENCES),
    "mtsamples": Plan(max_examples={"train": 1000}, max_length=256, truncation="head_tail"),
    "druglib": Plan(max_examples={"train": 2000}),
    "pneumoniamnist": Plan(epochs=10, batch_size=64, learning_rate=SCRATCH_LEARNING_RATE, head_learning_rate=1e-3),
}


def run_dataset(name: str, plan: Plan, *, budget_minutes: float, wallclock_rows: int, seed: int) -> dict:
    """Train, calibrate on dev, assess on test; everything the table and the notes need, as plain JSON."""
    dataset = load_dataset(name, max_examples=plan.max_examples or None, seed=seed, **plan.loader_options)
    torch.manual_seed(seed)
    if holds_images(dataset):
        model = build_image_model(dataset)
    else:
        model = build_text_model(
            dataset, backbone=DEFAULT_BACKBONE, max_length=plan.max_length, truncation=plan.truncation
        )
    settings = TrainingSettings(
        epochs=plan.epochs,
        batch_size=plan.batch_size,
        learning_rate=plan.learning_rate,
        head_learning_rate=plan.head_learning_rate,
        time_budget_minutes=budget_minutes,
        seed=seed,
    )
    history = train_on_dataset(model, dataset, settings).history
    dev = calibrate_on_dev(model, dataset, value=EPSILON)
    test = assess_on_test(model, dataset, dev.selections, wallclock_rows=wallclock_rows, seed=seed)
    oracle = oracle_exits(test.logits, multi_label=model.config.multi_label).exit_index.numpy()
    results = {
        "dataset": name,
        "task": dataset.task,
        "inputs": "images" if holds_images(dataset) else "texts",
        "metric": dataset.metric,
        "sizes": {split: len(examples) for split, examples in dataset.splits().items()},
        "plan": asdict(plan),
        "model": test.facts["model"],
        "num_layers": model.num_layers,
        "training": {"steps": history.steps, "seconds": round(history.seconds, 1), "budget_minutes": budget_minutes},
        "per_exit_dev": list(dev.calibration.per_exit_metric),
        "per_exit_test": test.per_exit_test_metric,
        "oracle_dev_layer_speedup": dev.calibration.oracle.layer_speedup,
        "oracle_test_layer_speedup": layer_speedup(np.asarray(model.exit_layers)[oracle], model.num_layers),
        "policies": [
            {key: value for key, value in evaluation.to_dict().items() if key != "exit_layers"}
            | {"mean_exit_layer": float(np.mean(evaluation.exit_layers))}
            for evaluation in test.evaluations
        ],
        "wallclock": test.facts["wall clock"],
        "machine": machine(),
    }
    if dataset.task == "single_label":
        gold, per_exit_predictions = test.labels.numpy(), test.logits.argmax(dim=-1).numpy()  # [exits, examples]
        test_metrics = metrics_beside(dataset, "test")
        results["per_exit_test_beside"] = {
            name: [float(metric(predictions, gold)) for predictions in per_exit_predictions]
            for name, metric in test_metrics.items()
        }
        results["majority_test_beside"] = {
            name: float(metric(majority_predictions(gold), gold)) for name, metric in test_metrics.items()
        }
    results["per_exit_test_degenerate"] = list(test.per_exit_test_degenerate)
    if dataset.task == "single_label" and len(dataset.label_names) == 2:
        probabilities = test.logits.float().softmax(dim=-1)[..., 1].numpy()
        results["per_exit_test_auc"] = [binary_auc(scores, test.labels.numpy()) for scores in probabilities]
    return results


def machine() -> dict:
    versions = {package: importlib.metadata.version(package) for package in ("torch", "transformers", "peft", "epee")}
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "threads": torch.get_num_threads(),
        "versions": versions,
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="all", help=f"Comma-separated names, or all: {', '.join(PLANS)}.")
    parser.add_argument("--budget-minutes", type=float, default=8.0, help="Training time budget per dataset.")
    parser.add_argument("--wallclock-rows", type=int, default=512, help="Test rows timed per policy.")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--force", action="store_true", help="Redo datasets that already have results.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(show_path=False)])

    names = list(PLANS) if args.datasets == "all" else args.datasets.split(",")
    unknown = sorted(set(names) - set(PLANS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; the suite runs {list(PLANS)}")
    args.results.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = args.results / f"{name}.json"
        if path.exists() and not args.force:
            logger.info("%s: results exist at %s, skipped (use --force to redo).", name, path)
            continue
        started = time.monotonic()
        try:
            options = {"budget_minutes": args.budget_minutes, "wallclock_rows": args.wallclock_rows, "seed": args.seed}
            results = run_dataset(name, PLANS[name], **options)
        except FileNotFoundError as error:
            logger.warning("%s skipped: %s", name, error)
            continue
        results["seconds"] = round(time.monotonic() - started, 1)
        staging = path.with_suffix(".json.partial")
        staging.write_text(json.dumps(results, indent=2) + "\n")
        staging.replace(path)
        logger.info("%s finished in %.0f s; results in %s.", name, results["seconds"], path)
    markdown = write_benchmarks_md(args.results)
    logger.info("Wrote %s.", markdown)


if __name__ == "__main__":
    main()
