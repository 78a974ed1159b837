"""Early exit stacked with ONNX Runtime and int8: the CPU speed table users compare against.

    python -m benchmarks.engines CHECKPOINT --dataset drugreview --threads 2
    python -m benchmarks.engines CHECKPOINT --dataset ddi --rows 1000 --quantization-study

On the same rows, batches, process and machine, interleaved in random order each round:
  (a) plain Hugging Face PyTorch fp32 (AutoModel forward + the last exit head),
  (b) ONNX Runtime fp32, full depth (every segment graph, the budget policy at the last exit),
  (c) ONNX Runtime int8, full depth,
  (d) epee PyTorch early exit (the checkpoint's calibrated policy),
  (e) epee ONNX Runtime fp32 early exit,
  (f) epee ONNX Runtime int8 early exit, its policy chosen again on the int8 graphs' own dev exits
      (what `epee calibrate EXPORT --engine onnx` does; the checkpoint's rule, policies and dev split),
  (g) epee PyTorch int8 early exit: the backbone's Linear layers through torch.ao's dynamic quantization
      (per channel, heads fp32; no extra dependency, but torch marks the API deprecated), policy chosen
      again on its own dev exits — issue 15's optional path, kept in the product only if it measures worthwhile,
at batch 1 and batch 32: rows/s, the median per-round ratio to (a) with its range, and each path's
test metric; (f) under the checkpoint's fp32-chosen policy is scored too. ``--quantization-study``
also scores int8 variants (which nodes, signed or not, per channel) by test metric and agreement with
fp32. The result is written to benchmarks/results/engines/DATASET.json, from which
``python -m benchmarks.render`` builds the BENCHMARKS.md section. Scoring needs no quiet machine, timing
does: run with ``--skip-timing`` first, then time in a quiet window with ``--reuse-scores``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmarks.render_engines import render
from epee.calibrate.risk import RiskSettings
from epee.data import load_dataset
from epee.data.examples import with_label_order
from epee.evaluate.wallclock import plain_forward, speedup_over, time_interleaved
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for
from epee.policies import make_policy, policy_from_params
from epee.policies.scores import predictions
from epee.runtime import early_exit_forward
from epee.runtime.exit_logits import collect_exit_logits, per_exit_metric
from epee.runtime.onnx_engine import OnnxModel
from epee.runtime.onnx_export import MANIFEST_NAME, export_onnx, quantized_copy
from epee.tasks.encoding import batch_indices
from epee.tasks.metrics import metric_for
from epee.workflow.assessment import calibrate_on_dev
from epee.workflow.checkpoint_data import recipe_for

RESULTS_DIR = Path(__file__).parent / "results" / "engines"
STUDY = {
    "ORT defaults (every MatMul, activations too; per tensor; heads too)": {
        "per_channel": False,
        "constant_weights_only": False,
        "exit_heads_fp32": False,
    },
    "weights only (MatMulConstBOnly), per tensor, heads too": {"per_channel": False, "exit_heads_fp32": False},
    "weights only, per channel, heads too": {"exit_heads_fp32": False},
    "weights only, per tensor, heads fp32": {"per_channel": False},
    "weights only, per channel, heads fp32 (epee's int8)": {},
    "as epee's, QUInt8 weights with reduce_range": {"weight_type": "QUInt8", "reduce_range": True},
}


def _export(model: MultiExitModel, directory: Path) -> Path:
    """The fp32 export, reused when an earlier run left it (delete the folder after changing the checkpoint)."""
    if (directory / MANIFEST_NAME).is_file():
        return directory
    return export_onnx(model, directory)


def _calibrate_on_own_exits(engine: OnnxModel, model: MultiExitModel, dataset_name: str) -> None:
    """Choose the policy on ``engine``'s own dev exits, as `epee calibrate EXPORT --engine onnx` does, under the
    rule, value and policies the checkpoint was calibrated with, on the dev split its recipe records (the named
    dataset's for a checkpoint without one, like the demo's); left in ``engine.config``."""
    recorded = model.config.calibration
    if not recorded or "result" not in recorded:
        raise SystemExit("The checkpoint's calibration was not on a labelled dev split; calibrate it with a rule.")
    _, recipe = recipe_for(model, {} if model.config.data_recipe else {"dataset": dataset_name})
    dataset = with_label_order(recipe.load(), model.config.label_names)
    risk = None
    if recorded["rule"] == "risk":
        certificate = recorded["certificate"]
        risk = RiskSettings(
            certificate["risk"], certificate["epsilon"], certificate["delta"], certificate.get("per_label", False)
        )
    calibrate_on_dev(
        engine,
        dataset,
        rule=recorded["rule"],
        value=recorded["value"],
        policies=tuple(dict.fromkeys(point["policy"] for point in recorded["result"]["points"])),
        allow_degenerate=recorded.get("allow_degenerate", False),
        risk=risk,
    )


def _torch_int8(model: MultiExitModel) -> MultiExitModel:
    """(g): a copy of ``model`` whose backbone Linear layers run in PyTorch dynamic int8, exit heads fp32."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice, said in the table instead
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        quantized = copy.deepcopy(model).eval()
        quantize_dynamic(quantized.backbone, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    return quantized


def _run_all(engine, batches, policy, labels, metric, exit_layers):
    """Predictions, exit layers and test metric of one path over every batch."""
    logits, exits = [], []
    for batch in batches:
        result = early_exit_forward(engine, batch, policy) if policy is not None else None
        if result is None:  # path (a)
            logits.append(plain_forward(engine, batch))
            exits.append(torch.full((logits[-1].shape[0],), exit_layers[-1]))
        else:
            logits.append(result.logits)
            exits.append(result.exit_layers(exit_layers))
    logits = torch.cat(logits)
    predicted = predictions(logits, multi_label=engine.config.multi_label).numpy()
    return predicted, torch.cat(exits).float(), 100 * metric(predicted, labels)


def _check_against_the_product(model, featurizer, split, metric, plain_metric: float) -> None:
    """Path (a)'s metric must be the last exit's as ``epee evaluate`` scores the same rows: a guard against
    predictions and labels drifting out of order (they did once: batches are length-sorted). Half a point of
    slack: padding differs between the two batchings, which may flip a near-tie, never a whole metric."""
    logits = collect_exit_logits(model, featurizer, split, batch_size=32, description="product check")
    expected = 100 * per_exit_metric(logits, split.labels, metric, model.config.multi_label)[-1]
    if abs(expected - plain_metric) > 0.5:
        raise SystemExit(f"path (a) scored {plain_metric:.4f} where the product's last exit scores {expected:.4f}")


def _score(runs, batches, labels, metric, exit_layers, policy) -> tuple[dict, dict]:
    """Each path's test metric, mean exit layer and agreement; (f) also under the checkpoint's fp32-chosen policy."""
    scores = {
        name: _run_all(engine, batches, chosen_policy, labels, metric, exit_layers)
        for name, (engine, chosen_policy) in runs.items()
    }
    quality = {
        name: {
            "metric": scores[name][2],
            "mean_exit_layer": float(scores[name][1].mean()),
            "agreement_with_a": float((scores[name][0] == scores["a"][0]).mean()),
        }
        for name in runs
    }
    quality["c"]["agreement_with_fp32"] = float((scores["c"][0] == scores["b"][0]).mean())
    quality["f"]["agreement_with_fp32"] = float((scores["f"][0] == scores["e"][0]).mean())
    quality["g"]["agreement_with_fp32"] = float((scores["g"][0] == scores["d"][0]).mean())
    under_checkpoint = _run_all(runs["f"][0], batches, policy, labels, metric, exit_layers)
    quality["f_under_checkpoint_policy"] = {
        "metric": under_checkpoint[2],
        "mean_exit_layer": float(under_checkpoint[1].mean()),
    }
    return quality, scores


def _study(exports, threads, batches, labels, metric, exit_layers, policy, scores) -> dict:
    """int8 variants by test metric and agreement with fp32, at full depth and under the checkpoint's policy."""
    full_depth = make_policy("budget", exit_layer=len(exit_layers))
    study = {}
    for label, settings in STUDY.items():
        variant = OnnxModel.load(
            quantized_copy(exports / "fp32", exports / f"study-{len(study)}", settings), threads=threads
        )
        full = _run_all(variant, batches, full_depth, labels, metric, exit_layers)
        early = _run_all(variant, batches, policy, labels, metric, exit_layers)
        study[label] = {
            "full_depth_metric": full[2],
            "full_depth_agreement_with_fp32": float((full[0] == scores["b"][0]).mean()),
            "early_exit_metric": early[2],
            "early_exit_agreement_with_fp32": float((early[0] == scores["e"][0]).mean()),
            "mean_exit_layer": float(early[1].mean()),
        }
    return study


def _previous_scores(path: Path, checkpoint: Path, rows: int, int8: OnnxModel) -> dict:
    """The last run's record, for --reuse-scores: it must be of this checkpoint, --rows and recalibrated int8 export."""
    if not path.is_file():
        raise SystemExit(f"--reuse-scores needs {path} from an earlier run; run without it first.")
    previous = json.loads(path.read_text())
    if (previous["checkpoint"], previous.get("requested_rows"), previous.get("int8_policy")) != (
        str(checkpoint),
        rows,
        int8.config.policy,
    ):
        raise SystemExit(f"{path} is of another checkpoint, rows or int8 policy; run without --reuse-scores.")
    return previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--split", default="test", choices=("dev", "test"))
    parser.add_argument("--rows", type=int, default=1000, help="Rows of the split scored (seeded sample).")
    parser.add_argument("--timing-rows", type=int, default=1000, help="Of those, rows timed at batch 32.")
    parser.add_argument("--latency-rows", type=int, default=100, help="Of those, rows timed one at a time at batch 1.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--exports", type=Path, default=Path("runs/engines"), help="Where the ONNX exports are kept.")
    parser.add_argument("--quantization-study", action="store_true")
    parser.add_argument("--skip-timing", action="store_true", help="Only the metrics (and the study).")
    parser.add_argument(
        "--reuse-scores",
        action="store_true",
        help="Only the timing, for a quiet window: the metrics, study and recalibrated int8 export of the last run "
        "on this checkpoint and rows are kept.",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = MultiExitModel.from_pretrained(args.checkpoint)
    model.merge_peft()
    if model.config.policy is None:
        raise SystemExit(f"{args.checkpoint} has no calibrated policy; run `epee calibrate` first.")
    policy = policy_from_params(model.config.policy)
    full_depth = make_policy("budget", exit_layer=len(model.exit_layers))
    exports = args.exports / args.checkpoint.resolve().name
    fp32 = OnnxModel.load(_export(model, exports / "fp32"), threads=args.threads)
    if args.reuse_scores:
        int8 = OnnxModel.load(exports / "int8", threads=args.threads)
    else:
        # The graphs `epee export --quantize int8` writes (the fp32 export quantized with the default settings),
        # then what `epee calibrate EXPORT --engine onnx` does.
        int8 = OnnxModel.load(quantized_copy(exports / "fp32", exports / "int8"), threads=args.threads)
        _calibrate_on_own_exits(int8, model, args.dataset)
        int8.save_policy(int8.directory)
    int8_policy = policy_from_params(int8.config.policy)
    torch_int8 = _torch_int8(model)
    record_path = RESULTS_DIR / f"{args.dataset}.json"
    previous = _previous_scores(record_path, args.checkpoint, args.rows, int8) if args.reuse_scores else None
    if previous is None:
        _calibrate_on_own_exits(torch_int8, model, args.dataset)
    else:
        torch_int8.config.policy = previous["torch_int8_policy"]

    dataset = load_dataset(args.dataset)
    examples = getattr(dataset, args.split)
    metric = metric_for(dataset, args.split)
    chosen = sorted(np.random.default_rng(0).permutation(len(examples))[: args.rows])
    featurizer = featurizer_for(model)
    split = encode_split(featurizer, [examples[i] for i in chosen], model)
    labels = np.asarray(split.labels)

    def batches_of(size: int, rows: int) -> tuple[list, np.ndarray]:
        """Length-sorted batches of the first ``rows`` rows, and the row order they come out in."""
        order = list(batch_indices(min(rows, len(split)), size, lengths=split.lengths[:rows]))
        return [featurizer.collate([split.features[i] for i in batch]) for batch in order], np.concatenate(order)

    runs = {
        "a": (model, None),
        "b": (fp32, full_depth),
        "c": (int8, full_depth),
        "d": (model, policy),
        "e": (fp32, policy),
        "f": (int8, int8_policy),
        "g": (torch_int8, policy_from_params(torch_int8.config.policy)),
    }
    if previous is not None:
        quality, study = previous["quality"], previous["quantization_study"]
    else:
        scoring_batches, row_order = batches_of(args.batch_size, len(split))
        labels = labels[row_order]  # the paths' predictions come out in the batches' (length-sorted) order
        quality, scores = _score(runs, scoring_batches, labels, metric, model.exit_layers, policy)
        _check_against_the_product(model, featurizer, split, metric, quality["a"]["metric"])
        study = {}
        if args.quantization_study:
            study = _study(exports, args.threads, scoring_batches, labels, metric, model.exit_layers, policy, scores)
    timing: dict = {}

    def save() -> dict:
        """Write what is measured so far: a slow timing phase never loses the metrics and the study."""
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "checkpoint": str(args.checkpoint),
            "dataset": args.dataset,
            "split": args.split,
            "rows": len(split),
            "requested_rows": args.rows,
            "timing_rows": min(args.timing_rows, len(split)),
            "latency_rows": min(args.latency_rows, len(split)),
            "repeats": args.repeats,
            "policy": model.config.policy,
            "int8_policy": int8.config.policy,
            "int8_calibration": int8.config.calibration["selected"],
            "torch_int8_policy": torch_int8.config.policy,
            "num_layers": model.num_layers,
            "metric_name": dataset.metric,
            "quality": quality,
            "timing": timing,
            "quantization": int8.manifest["quantization"],
            "quantization_study": study,
            "machine": {
                "platform": platform.platform(),
                "threads": args.threads,
                "torch": torch.__version__,
                "onnxruntime": fp32.manifest["versions"]["onnxruntime"],
                "load_average": list(os.getloadavg()),
            },
        }
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(record, indent=1) + "\n")
        return record

    save()
    if not args.skip_timing:
        for batch_size, rows in ((1, args.latency_rows), (args.batch_size, args.timing_rows)):
            batches, _ = batches_of(batch_size, rows)
            calls = {
                name: (lambda batch, e=engine: plain_forward(e, batch))
                if chosen_policy is None
                else (lambda batch, e=engine, p=chosen_policy: early_exit_forward(e, batch, p))
                for name, (engine, chosen_policy) in runs.items()
            }
            timings = time_interleaved(calls, batches, rounds=args.repeats, progress=True)
            timing[str(batch_size)] = {
                name: {
                    "rows_per_second": timings[name].rows_per_second,
                    "round_seconds": timings[name].round_seconds,
                    "speedup": vars(speedup_over(timings["a"], timings[name])),
                }
                for name in runs
            }

    print("\n".join(render(save())))


if __name__ == "__main__":
    main()
