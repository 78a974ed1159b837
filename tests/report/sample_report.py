"""A small hand-made calibration and test evaluation: 3 policies, 4 exits at layers 2, 4, 6, 8."""

from __future__ import annotations

from typing import Any

from epee.calibrate import CalibrationResult, PolicyPoint
from epee.workflow.policy_comparison import PolicyEvaluation

NUM_LAYERS = 8
EXIT_LAYERS = (2, 4, 6, 8)
NUM_SAMPLES = 20


def point(policy: str, params: dict[str, Any], metric: float, exit_counts: tuple[int, ...]) -> PolicyPoint:
    mean_exit_layer = sum(layer * count for layer, count in zip(EXIT_LAYERS, exit_counts, strict=True)) / NUM_SAMPLES
    return PolicyPoint(
        policy=policy,
        params=params,
        metric=metric,
        mean_exit_layer=mean_exit_layer,
        layer_speedup=NUM_LAYERS / mean_exit_layer,
        saved_fraction=1 - mean_exit_layer / NUM_LAYERS,
        flops_speedup=0.97 * NUM_LAYERS / mean_exit_layer,
        exit_counts=exit_counts,
    )


CALIBRATION = CalibrationResult(
    metric_name="accuracy",
    num_layers=NUM_LAYERS,
    exit_layer_numbers=EXIT_LAYERS,
    multi_label=False,
    num_samples=NUM_SAMPLES,
    per_exit_metric=(0.55, 0.70, 0.85, 0.80),
    points=(
        point("entropy", {"threshold": 0.1}, 0.80, (0, 2, 6, 12)),
        point("entropy", {"threshold": 0.3}, 0.82, (2, 6, 8, 4)),
        point("entropy", {"threshold": 0.6}, 0.70, (10, 6, 2, 2)),
        point("patience", {"patience": 1}, 0.65, (0, 16, 2, 2)),
        point("patience", {"patience": 2}, 0.81, (0, 0, 14, 6)),
        point("epee", {"tau": 0.2, "patience": 1}, 0.78, (4, 8, 4, 4)),
        point("epee", {"tau": 0.1, "patience": 2}, 0.84, (1, 5, 10, 4)),
        point("epee", {"tau": 0.05, "patience": 2}, 0.83, (0, 3, 9, 8)),
        point("budget", {"exit_layer": 4}, 0.80, (0, 0, 0, 20)),
    ),
    oracle=point("oracle", {"reference": "final"}, 0.80, (8, 6, 4, 2)),
)

SELECTIONS = {
    "entropy": CALIBRATION.points[1],
    "patience": CALIBRATION.points[4],
    "epee": CALIBRATION.points[6],
}


def evaluation(name: str, test_metric: float, exit_layers: list[int], wallclock: float | None) -> PolicyEvaluation:
    selected = SELECTIONS[name]
    mean_exit_layer = sum(exit_layers) / len(exit_layers)
    return PolicyEvaluation(
        policy=name,
        params=selected.params,
        dev_metric=selected.metric,
        dev_layer_speedup=selected.layer_speedup,
        test_metric=test_metric,
        layer_speedup=NUM_LAYERS / mean_exit_layer,
        flops_speedup=0.97 * NUM_LAYERS / mean_exit_layer,
        wallclock_speedup=wallclock,
        exit_layers=exit_layers,
    )


EVALUATIONS = [
    evaluation("entropy", 0.79, [2, 2, 4, 4, 4, 6, 6, 6, 8, 8], 1.42),
    evaluation("patience", 0.80, [6, 6, 6, 6, 6, 6, 6, 8, 8, 8], None),
    evaluation("epee", 0.83, [2, 4, 4, 6, 6, 6, 6, 6, 8, 8], 1.31),
]

PER_EXIT_TEST_METRIC = (0.50, 0.72, 0.83, 0.81)


def report_inputs(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for ``write_report``; ``overrides`` replace any of them."""
    inputs = {
        "title": "Tiny early-exit report",
        "calibration": CALIBRATION,
        "selections": SELECTIONS,
        "evaluations": EVALUATIONS,
        "per_exit_test_metric": PER_EXIT_TEST_METRIC,
        "exit_layer_numbers": EXIT_LAYERS,
        "num_layers": NUM_LAYERS,
        "metric_name": "accuracy",
        "facts": {"model": "tiny BERT (random)", "dataset": "hand-made", "dev / test": "20 / 10 examples"},
        "explanation": "Early exits let easy examples leave after a few layers; <this> paragraph & its markup "
        "must be escaped in HTML.",
    }
    return {**inputs, **overrides}
