"""Does a scratch ViT learn from a few hundred images with epee's defaults? PneumoniaMNIST, train subsampled.

    python -m benchmarks.small_images --train-examples 500 --seed 42

Trains the multi-exit ViT exactly as ``epee train --dataset pneumoniamnist`` does by default
(:func:`epee.train.settings.scratch_epochs`, the scratch learning rate, class weighting,
augmentation, best epoch by the dev metric), on a seeded, stratified subsample of the training
images and the full official dev and test splits. Then calibrates on dev with the CLI's default
rule (fastest within 1 point of the last exit, degenerate settings excluded) and reports on test:
every exit's balanced accuracy (the headline), accuracy and AUC beside the majority-class
baseline, which exits are degenerate, and whether the calibrated policy is.

Results go to ``benchmarks/results/small_images/<name>.json`` and into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from rich.logging import RichHandler

from benchmarks.render import write_benchmarks_md
from benchmarks.suite import machine
from epee.data import load_dataset
from epee.defaults import SCRATCH_LEARNING_RATE
from epee.tasks.degeneracy import majority_predictions
from epee.tasks.metrics import binary_auc, metrics_beside
from epee.train import TrainingSettings
from epee.train.settings import scratch_epochs
from epee.workflow.assessment import assess_on_test, calibrate_on_dev
from epee.workflow.fit import build_image_model, train_on_dataset

logger = logging.getLogger("benchmarks.small_images")

RESULTS_DIR = Path(__file__).resolve().parent / "results" / "small_images"
EPSILON = 0.01


def run(train_examples: int, seed: int) -> dict:
    dataset = load_dataset("pneumoniamnist", max_examples={"train": train_examples}, seed=seed)
    torch.manual_seed(seed)
    model = build_image_model(dataset)
    settings = TrainingSettings(
        epochs=scratch_epochs(len(dataset.train), TrainingSettings.batch_size),
        learning_rate=SCRATCH_LEARNING_RATE,
        seed=seed,
    )
    history = train_on_dataset(model, dataset, settings).history
    dev = calibrate_on_dev(model, dataset, value=EPSILON)
    test = assess_on_test(model, dataset, dev.selections, wallclock_repeats=1, wallclock_rows=128, seed=seed)
    gold = test.labels.numpy()
    per_exit_predictions = test.logits.argmax(dim=-1).numpy()  # [exits, examples]
    test_metrics = metrics_beside(dataset, "test")
    beside = {
        name: [float(metric(predictions, gold)) for predictions in per_exit_predictions]
        for name, metric in test_metrics.items()
    }
    majority = majority_predictions(gold)
    probabilities = test.logits.softmax(dim=-1)[..., 1].numpy()
    selected = next(evaluation for evaluation in test.evaluations if evaluation.policy == dev.selected.policy)
    label_counts = np.bincount(gold, minlength=len(dataset.label_names))
    return {
        "name": f"pneumoniamnist-train{train_examples}-seed{seed}",
        "dataset": "pneumoniamnist",
        "metric": dataset.metric,
        "sizes": {split: len(examples) for split, examples in dataset.splits().items()},
        "test_label_counts": dict(zip(dataset.label_names, label_counts.tolist(), strict=True)),
        "settings": {
            "epochs": settings.epochs,
            "batch_size": settings.batch_size,
            "learning_rate": settings.learning_rate,
            "class_weighting": settings.class_weighting,
            "augment": settings.augment,
            "select_by": settings.select_by,
        },
        "training": {
            "steps": history.steps,
            "seconds": round(history.seconds, 1),
            "best_epoch": history.to_dict()["best_epoch"],
        },
        "learned": history.learned,
        "exit_layers": list(model.exit_layers),
        "per_exit_dev": list(dev.calibration.per_exit_metric),
        "per_exit_dev_degenerate": list(dev.calibration.per_exit_degenerate),
        "majority_dev": dev.calibration.majority_metric,
        "per_exit_test": beside,
        "per_exit_test_auc": [binary_auc(scores, gold) for scores in probabilities],
        "per_exit_test_degenerate": list(test.per_exit_test_degenerate),
        "majority_test": {name: float(metric(majority, gold)) for name, metric in test_metrics.items()},
        "selected_on_dev": {
            "policy": selected.policy,
            "params": selected.params,
            "dev_metric": selected.dev_metric,
            "dev_degenerate": dev.selected.degenerate,
            "test_metric": selected.test_metric,
            "test_degenerate": selected.degenerate,
            "layer_speedup": selected.layer_speedup,
        },
        "skipped_as_degenerate": None if dev.skipped is None else dev.skipped.to_dict(),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-examples", type=int, default=500, help="Training images kept (stratified, seeded).")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(show_path=False)])
    started = time.monotonic()
    results = run(args.train_examples, args.seed)
    results["seconds"] = round(time.monotonic() - started, 1)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{results['name']}.json"
    staging = path.with_suffix(".json.partial")
    staging.write_text(json.dumps(results, indent=2) + "\n")
    staging.replace(path)
    logger.info("Results in %s; wrote %s.", path, write_benchmarks_md())


if __name__ == "__main__":
    main()
