"""The exit-training ablation section of ``BENCHMARKS.md``, from ``benchmarks/results/ablation/<dataset>.json``
(written by ``python -m benchmarks.ablation``), and the rules that name its winners from dev figures only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from epee.formatting import format_params_short
from epee.table import Table, to_markdown

ABLATION_DIR = Path(__file__).resolve().parent / "results" / "ablation"
FULL_SPLIT_DIR = Path(__file__).resolve().parent / "results" / "ablation-full"
"""Arms on a dataset's whole train split beside a plain fine-tune: where the subsample ablation cannot show the gap."""
DATASET_ORDER = ("ddi", "chemprot", "hoc")
TOLERANCE = 0.01  # one point of the task metric (metrics are fractions)
CLOCKS = {"cpu": "CPU minutes (a paused or preempted run does not spend them)", "wall": "wall-clock minutes"}
KEPT = {  # TrainingSettings.select_by, in words
    "mean": "the best by mean dev metric over exits",
    "last": "the best by the last exit's dev metric",
    "mean_near_best_last": "the best by mean dev metric over exits among those whose last exit is within 1 point of "
    "the best last exit so far",
}

WINNER_RULE = (
    "among the arms whose last-exit dev metric is within 1 point of the best arm's, the highest dev-calibrated "
    "layer speed-up (the suite's rule: the fastest policy setting within 1 point of the arm's own last exit on "
    "dev); ties go to the higher mean dev metric over exits, then to the arm listed first; an arm whose every "
    "calibrated setting is degenerate on dev (it did not learn) takes no part"
)
OVERALL_RULE = (
    "among the arms that pass the 1-point last-exit test on every dataset, the highest mean dev-calibrated "
    "speed-up over the datasets (dev figures only)"
)


def load_ablation(results_dir: Path = ABLATION_DIR) -> list[dict]:
    results = [json.loads(path.read_text()) for path in results_dir.glob("*.json")]
    rank = {name: position for position, name in enumerate(DATASET_ORDER)}
    return sorted(results, key=lambda result: (rank.get(result["dataset"], len(rank)), result["dataset"]))


def _finished(arms: Mapping[str, dict]) -> dict[str, dict]:
    """The candidate recipes that learned: neither a reference arm (a plain fine-tune) nor one whose every
    calibrated setting was degenerate on dev takes part."""
    return {name: arm for name, arm in arms.items() if not arm.get("did_not_learn") and not arm.get("reference")}


def qualifying_arms(arms: Mapping[str, dict]) -> list[str]:
    """The arms that learned whose last-exit dev metric is at most one point below the best such arm's."""
    finished = _finished(arms)
    if not finished:
        return []
    best_last = max(arm["per_exit_dev"][-1] for arm in finished.values())
    return [name for name, arm in finished.items() if arm["per_exit_dev"][-1] >= best_last - TOLERANCE - 1e-12]


def winner(arms: Mapping[str, dict]) -> str | None:
    """The arm the dev split names by :data:`WINNER_RULE`; test figures never take part. None without arms."""
    finished = _finished(arms)
    qualifying = qualifying_arms(finished)
    if not qualifying:
        return None
    return max(  # max keeps the first of equal keys: the arm listed first
        qualifying,
        key=lambda name: (
            finished[name]["selected_on_dev"]["dev_layer_speedup"],
            float(np.mean(finished[name]["per_exit_dev"])),
        ),
    )


def overall_winner(results: Sequence[dict]) -> str | None:
    """The arm :data:`OVERALL_RULE` names over the datasets' results; None when no arm passes on every one."""
    if not results:
        return None
    passing = set.intersection(*(set(qualifying_arms(result["arms"])) for result in results))
    order = [name for name in results[0]["arms"] if name in passing]
    if not order:
        return None
    return max(
        order, key=lambda name: np.mean([r["arms"][name]["selected_on_dev"]["dev_layer_speedup"] for r in results])
    )


def ablation_section(results: Sequence[dict] | None = None) -> list[str]:
    results = load_ablation() if results is None else results
    title = "## Training the exits to be used early: ablation (`python -m benchmarks.ablation`)"
    return _section(title, results)


def full_split_section(results: Sequence[dict] | None = None) -> list[str]:
    results = load_ablation(FULL_SPLIT_DIR) if results is None else results
    if not results:
        return []
    setup = results[0]["setup"]
    arms = dict.fromkeys(name for result in results for name in result["arms"])
    command = (
        f"python -m benchmarks.ablation --datasets {','.join(result['dataset'] for result in results)} "
        f"--arms {','.join(arms)} --max-train {setup['sizes']['train']} --budget-minutes {setup['budget_minutes']:g} "
        f"--results benchmarks/results/{FULL_SPLIT_DIR.name}"
    )
    return _section(f"## The last exit against a plain fine-tune on a whole train split (`{command}`)", results)


def _section(title: str, results: Sequence[dict]) -> list[str]:
    if not results:
        return []
    first = results[0]["setup"]
    lines = [
        title,
        "",
        f"Every arm trains {first['model']} from the same seed ({first['seed']}) on the same seeded rows (sizes "
        f"below) and batches (batch {first['batch_size']}, a linear schedule over {first['epochs']} epochs), for the "
        f"same budget of {first['budget_minutes']:g} {CLOCKS[first['budget_clock']]} of one thread, with the dev "
        f"evaluations inside it; the kept evaluation is {KEPT[first.get('select_by', 'mean')]}. Each arm is "
        "calibrated on dev with the suite's rule (fastest policy setting within 1 point of the arm's last exit "
        "on dev) and that choice is applied to test, which only reports.",
        "",
        f"Winner rule (dev only): {WINNER_RULE}.",
        "",
    ]
    for result in results:
        lines += _dataset_lines(result)
    if len(results) > 1:
        overall = overall_winner(results)
        names = ", ".join(result["dataset"] for result in results)
        lines.append(f"Over {names}: {OVERALL_RULE}: **{overall or 'none'}**.")
        if overall is None:  # the first arm is today's recipe: without a winner on every dataset, nothing replaces it
            lines.append(
                f"No arm passes on every dataset, so the default recipe stays: {next(iter(results[0]['arms']))}."
            )
        lines.append("")
    return lines


def _dataset_lines(result: dict) -> list[str]:
    arms, best = result["arms"], winner(result["arms"])
    qualifying = set(qualifying_arms(arms))
    sizes = ", ".join(f"{split} {count}" for split, count in result["sizes"].items())
    rows = []
    for name, arm in arms.items():
        selected, on_test, training = arm["selected_on_dev"], arm["test_of_dev_choice"], arm["training"]
        rows.append(
            (
                f"**{name}**" if name == best else name,
                arm["description"],
                f"{training['steps']} ({training['stopped_by']})",
                " ".join(_points(value) for value in arm["per_exit_dev"]),
                _points(float(np.mean(arm["per_exit_dev"]))),
                _points(arm["per_exit_dev"][-1]) + _out_of_the_running(arm, name in qualifying),
                "-" if arm.get("reference") else _calibrated(selected),  # a reference's one exit: nothing to calibrate
                " ".join(_points(value) for value in arm["per_exit_test"]),
                _points(on_test["test_metric"]),
                "-" if arm.get("reference") else f"{on_test['layer_speedup']:.2f}x",
            )
        )
    headers = (
        "arm",
        "what",
        "steps",
        "dev per exit",
        "dev mean",
        "dev last",
        "dev-calibrated speed-up",
        "test per exit",
        "test, dev choice",
        "test speed-up",
    )
    return [
        f"### {result['dataset']} ({result['metric']}; {sizes})",
        "",
        to_markdown(Table(headers=headers, rows=tuple(rows), numeric_from=2)),
        "",
        f"Dev winner: **{best or 'none'}**.",
        "",
        *_against_references(arms),
    ]


def _against_references(arms: Mapping[str, dict]) -> list[str]:
    """How far each candidate's last exit on dev sits from each reference arm's (a plain fine-tune's)."""
    lines = []
    for reference_name, reference in arms.items():
        if not reference.get("reference"):
            continue
        gaps = ", ".join(
            f"{name} {100 * (arm['per_exit_dev'][-1] - reference['per_exit_dev'][-1]):+.1f}"
            for name, arm in arms.items()
            if not arm.get("reference")
        )
        lines += [f"Last exit on dev against {reference_name} (points): {gaps}.", ""]
    return lines


def _calibrated(selected: dict) -> str:
    return f"{selected['dev_layer_speedup']:.2f}x {selected['policy']} {format_params_short(selected['params'])}"


def _out_of_the_running(arm: dict, qualifies: bool) -> str:
    if arm.get("reference"):
        return " (reference)"
    if arm.get("did_not_learn"):
        return " (did not learn)"
    return "" if qualifies else " (>1 pt below)"


def _points(value: float) -> str:
    return f"{100 * value:.1f}"
