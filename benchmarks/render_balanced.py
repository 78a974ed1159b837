"""BENCHMARKS.md sections that keep collapse in view: class-balanced metrics per exit, and small image sets.

Only numbers present in the JSON are rendered. A suite result written before the suite recorded
class-balanced metrics (``per_exit_test_beside``) shows what it has (a class-balanced headline, or
AUC from scores) and says plainly what it lacks, rather than recomputing anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from epee.formatting import format_params
from epee.table import Table, to_markdown
from epee.tasks.metrics import CLASS_BALANCED_METRICS

SMALL_IMAGES_DIR = Path(__file__).resolve().parent / "results" / "small_images"


def load_small_images(results_dir: Path = SMALL_IMAGES_DIR) -> list[dict]:
    return sorted((json.loads(path.read_text()) for path in results_dir.glob("*.json")), key=lambda r: r["name"])


def balanced_section(results: Sequence[dict]) -> list[str]:
    """Per-exit test figures of every single-label dataset in a class-balanced metric, accuracy beside."""
    lines = [
        "## Class-balanced metrics per exit (test, single-label datasets)",
        "",
        "Accuracy rewards an exit that predicts the majority class for everyone; balanced accuracy (mean recall",
        "over classes, 50 for any one-class predictor of a binary task), macro-F1 and AUC do not. A cell marked",
        "*degenerate* is an exit that predicts one class for >= 95% of examples or does not beat the majority",
        "class by 1 point (`epee.tasks.degeneracy`).",
        "",
    ]
    rows, missing = [], []
    for result in results:
        if result["task"] != "single_label":
            continue
        balanced, lacking = _balanced_rows(result)
        rows += [_row(result, name, values, majority, degenerate) for name, values, majority, degenerate in balanced]
        if lacking:
            missing.append(f"{result['dataset']} ({lacking})")
    headers = ("dataset", "metric", *(f"exit {number}" for number in range(1, _widest(results) + 1)), "majority class")
    lines.append(to_markdown(Table(headers=headers, rows=tuple(rows), numeric_from=2)))
    if missing:
        lines += [
            "",
            "Not recorded by the run behind this table: " + "; ".join(missing) + ". The suite records balanced "
            "accuracy, macro-F1 and accuracy per exit since these checks exist; rerun `python -m benchmarks.suite "
            "--datasets NAME --force` to fill them in.",
        ]
    return [*lines, ""]


def _balanced_rows(result: dict) -> tuple[list[tuple[str, list[float], float | None, list]], str | None]:
    """(metric name, per-exit values, majority-class value, per-exit degeneracy) rows, and what is missing."""
    degenerate = result.get("per_exit_test_degenerate") or [None] * len(result["per_exit_test"])
    if "per_exit_test_beside" in result:
        majority = result.get("majority_test_beside", {})
        rows = [
            (name, values, majority.get(name), degenerate if name == result["metric"] else [None] * len(values))
            for name, values in result["per_exit_test_beside"].items()
        ]
        return rows, None
    headline = (result["metric"], result["per_exit_test"], None, degenerate)
    if result["metric"] in CLASS_BALANCED_METRICS:
        return [headline], "accuracy and the majority-class baseline per exit"
    if "per_exit_test_auc" in result:
        auc = ("auc", result["per_exit_test_auc"], 0.5, [None] * len(result["per_exit_test_auc"]))
        return [auc, headline], "balanced accuracy per exit"
    return [headline], f"any class-balanced metric, the run kept only {result['metric']} per exit"


def _row(
    result: dict, name: str, values: Sequence[float], majority: float | None, degenerate: Sequence
) -> tuple[str, ...]:
    pairs = zip(values, degenerate, strict=True)
    cells = [_points(value) + (" (degenerate)" if reason else "") for value, reason in pairs]
    cells += ["-"] * (result["num_layers"] - len(values))
    return (result["dataset"], name, *cells, "-" if majority is None else _points(majority))


def small_images_section(results: Sequence[dict]) -> list[str]:
    """Runs of ``benchmarks.small_images``: a scratch ViT on a few hundred PneumoniaMNIST images, CLI defaults."""
    if not results:
        return []
    lines = [
        "## Small image sets: does a scratch ViT learn from a few hundred images?",
        "",
        "`python -m benchmarks.small_images --train-examples N --seed S`: PneumoniaMNIST with the training split",
        "subsampled (stratified, seeded) and the full official dev and test splits, trained with `epee train`'s",
        "image defaults, calibrated on dev with the default rule (degenerate settings excluded), reported on test.",
        "",
    ]
    for result in results:
        settings, training = result["settings"], result["training"]
        selected = result["selected_on_dev"]
        sizes = " / ".join(str(result["sizes"][split]) for split in ("train", "dev", "test"))
        lines += [
            f"### {result['name']}",
            "",
            f"Train / dev / test {sizes}; test labels {result['test_label_counts']}. {settings['epochs']} epochs "
            f"at batch {settings['batch_size']} ({training['steps']} steps, {training['seconds']:.0f} s on "
            f"{result['machine']['threads']} thread(s) of a shared machine), lr "
            f"{settings['learning_rate']:g}, class weighting {settings['class_weighting']}, augmentation "
            f"{'on' if settings['augment'] else 'off'}, best epoch by the {settings['select_by']} dev "
            f"{result['metric']} over exits. Learned: {'yes' if result['learned'] else 'no'}.",
            "",
        ]
        rows = []
        for position, layer in enumerate(result["exit_layers"]):
            metrics = [_points(values[position]) for values in result["per_exit_test"].values()]
            reason = result["per_exit_test_degenerate"][position] or "-"
            rows.append((str(layer), *metrics, _points(result["per_exit_test_auc"][position]), reason))
        majority = [_points(result["majority_test"][name]) for name in result["per_exit_test"]]
        rows.append(("majority class", *majority, "50.00", "-"))
        metric_headers = (f"test {name}" for name in result["per_exit_test"])
        headers = ("exit layer", *metric_headers, "test AUC", "degenerate on test")
        lines += [
            to_markdown(Table(headers=headers, rows=tuple(rows), numeric_from=0)),
            "",
            f"Calibrated on dev: **{selected['policy']}** ({format_params(selected['params'])}), dev "
            f"{result['metric']} {_points(selected['dev_metric'])}, test {_points(selected['test_metric'])} at "
            f"{selected['layer_speedup']:.2f}x layer speed-up; degenerate on test: "
            f"{selected['test_degenerate'] or 'no'}." + _skipped(result.get("skipped_as_degenerate")),
            "",
        ]
    return lines


def _skipped(skipped: dict | None) -> str:
    if skipped is None:
        return ""
    return (
        f" The degeneracy filter removed the rule's fastest candidate, {skipped['policy']} "
        f"({format_params(skipped['params'])}) at {skipped['layer_speedup']:.2f}x: {skipped['degenerate']}."
    )


def _widest(results: Sequence[dict]) -> int:
    return max((result["num_layers"] for result in results if result["task"] == "single_label"), default=0)


def _points(value: float) -> str:
    return f"{100 * value:.2f}"
