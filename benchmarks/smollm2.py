"""SmolLM2-135M, a real 30-layer decoder: calibrate LoRA-trained exits on dev, report on test with wall clock.

    # train (the CLI, as a user would; settings sized for a shared 2-core CPU, see BENCHMARKS.md)
    epee train --backbone smollm2-135m --dataset ddi --max-examples 240 --max-length 64 --epochs 1 \\
        --batch-size 16 --learning-rate 1e-3 --head-learning-rate 3e-3 --time-budget-minutes 14 --output runs/ddi
    # then
    python -m benchmarks.smollm2 runs/ddi --wallclock-rows 32 --repeats 3

Every deployable policy is calibrated on dev with the CLI's rule (fastest within 1 point of the last
exit, degenerate settings excluded) and applied to test. A forward pass of a 135M model costs seconds
per batch on one CPU thread, so wall clock times only three paths, interleaved in random order each
round: the plain Hugging Face model, epee's loop through all 30 layers (what 30 exit heads and the
policy cost on the way), and the policy dev selected — at batch 32, median ratio with the slowest
and fastest round. Results go to ``benchmarks/results/smollm2/<dataset>.json`` and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from rich.logging import RichHandler

from benchmarks.render import write_benchmarks_md
from benchmarks.suite import machine
from epee.calibrate.model_calibration import calibrate_model, model_flops
from epee.errors import EpeeError
from epee.evaluate.wallclock import compare_wallclock, speedup_over
from epee.models.inputs import encode_split, featurizer_for
from epee.policies import make_policy, oracle_exits
from epee.runtime.exit_logits import collect_exit_logits, per_exit_metric
from epee.runtime.speed import layer_speedup
from epee.tasks.encoding import batch_indices
from epee.tasks.metrics import metric_for
from epee.workflow.assessment import select_per_policy
from epee.workflow.checkpoint_data import load_checkpoint_and_data
from epee.workflow.policy_comparison import evaluate_on_test

logger = logging.getLogger("benchmarks.smollm2")

RESULTS_DIR = Path(__file__).resolve().parent / "results" / "smollm2"
EPSILON = 0.01  # one point of the task metric


def run(checkpoint: Path, *, wallclock_rows: int, repeats: int, seed: int) -> dict:
    # The developer's own checkpoints; a tiny one for a smoke test may adapt a backbone from a local directory.
    model, dataset = load_checkpoint_and_data(checkpoint, {}, allow_external_backbone=True)
    training, peft = model.config.training, model.config.peft
    featurizer = featurizer_for(model)
    dev_split = encode_split(featurizer, dataset.dev, model)
    calibration, _ = calibrate_model(
        model, featurizer, dev_split, metric_for(dataset, "dev"), metric_name=dataset.metric, batch_size=32
    )
    try:  # the CLI's rule; a model whose every setting is degenerate is reported as not learned, not hidden
        selected, learned = calibration.select("fastest_within", EPSILON), True
    except EpeeError:
        selected, learned = calibration.select("fastest_within", EPSILON, allow_degenerate=True), False
    selections = select_per_policy(calibration, "fastest_within", EPSILON, allow_degenerate=not learned)
    model.merge_peft()  # inference runs the plain transformers modules, as the plain model does
    test_split = encode_split(featurizer, dataset.test, model)
    test_logits = collect_exit_logits(model, featurizer, test_split, batch_size=32, description="test logits")
    labels = test_split.labels
    layer_flops, head_flops = model_flops(model, float(test_split.lengths.mean()))
    evaluations = evaluate_on_test(
        model,
        test_logits,
        labels,
        metric_for(dataset, "test"),
        selections,
        layer_flops=layer_flops,
        head_flops=head_flops,
    )
    selected = next(evaluation for evaluation in evaluations if evaluation.policy == selected.policy)
    oracle = oracle_exits(test_logits, multi_label=model.config.multi_label).exit_index.numpy()

    rows = np.random.default_rng(seed).choice(len(test_split), min(wallclock_rows, len(test_split)), replace=False)
    timed = test_split.subset(rows)
    batches = [
        featurizer.collate([timed.features[row] for row in batch])
        for batch in batch_indices(len(timed), 32, lengths=timed.lengths)
    ]
    policy = make_policy(selected.policy, **selected.params)
    timings = compare_wallclock(model, batches, {"selected": policy}, repeats=repeats, seed=seed, progress=True)
    wallclock = {}
    for path in ("all_layers", "selected"):
        estimate = speedup_over(timings["plain"], timings[path])
        wallclock[path] = {"median": estimate.median, "low": estimate.low, "high": estimate.high}
    wallclock["seconds"] = {name: timing.seconds for name, timing in timings.items()}
    return {
        "dataset": dataset.name,
        "metric": dataset.metric,
        "checkpoint": str(checkpoint),
        "sizes": {split: len(examples) for split, examples in dataset.splits().items()},
        "num_layers": model.num_layers,
        "exit_layers": list(model.exit_layers),
        "training": {
            "settings": {
                key: training["settings"].get(key)
                for key in ("epochs", "batch_size", "learning_rate", "head_learning_rate", "time_budget_minutes")
            },
            "steps": training["history"]["steps"],
            "seconds": round(training["history"]["seconds"], 1),
            "stopped_by": training["history"].get("stopped_by"),
        },
        "max_length": model.config.max_length,
        "peft": {key: peft.get(key) for key in ("method", "r", "alpha", "dropout", "target_modules")},
        "learned": learned,
        "per_exit_dev": list(calibration.per_exit_metric),
        "per_exit_dev_degenerate": list(calibration.per_exit_degenerate),
        "per_exit_test": per_exit_metric(test_logits, labels, metric_for(dataset, "test"), model.config.multi_label),
        "oracle_test_layer_speedup": layer_speedup(np.asarray(model.exit_layers)[oracle], model.num_layers),
        "selected": {key: value for key, value in selected.to_dict().items() if key != "exit_layers"},
        "policies": [
            {key: value for key, value in evaluation.to_dict().items() if key != "exit_layers"}
            for evaluation in evaluations
        ],
        "wallclock": wallclock | {"batch_size": 32, "rows": len(timed), "repeats": repeats},
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", type=Path, nargs="+", help="Checkpoints `epee train` wrote.")
    parser.add_argument("--wallclock-rows", type=int, default=64, help="Test rows timed (batch 32).")
    parser.add_argument("--repeats", type=int, default=5, help="Interleaved timing rounds.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(show_path=False)])
    args.results.mkdir(parents=True, exist_ok=True)
    for checkpoint in args.checkpoints:
        started = time.monotonic()
        results = run(checkpoint, wallclock_rows=args.wallclock_rows, repeats=args.repeats, seed=args.seed)
        results["seconds"] = round(time.monotonic() - started, 1)
        path = args.results / f"{results['dataset']}.json"
        staging = path.with_suffix(".json.partial")
        staging.write_text(json.dumps(results, indent=2) + "\n")
        staging.replace(path)
        logger.info("%s finished in %.0f s; results in %s.", results["dataset"], results["seconds"], path)
    logger.info("Wrote %s.", write_benchmarks_md())


if __name__ == "__main__":
    main()
