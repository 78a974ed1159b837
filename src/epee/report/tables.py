"""The report's tables as plain rows of strings (:class:`epee.table.Table`), rendered to Markdown and HTML.

Rows are built once from the numbers and formatted once, so ``report.md`` and ``report.html``
can never disagree: metrics in points (x100, two decimals), speed-ups as factors (``1.85x``),
and ``n/a`` wherever a figure was not measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from epee.calibrate.results import CalibrationResult
from epee.formatting import format_params
from epee.table import Table

if TYPE_CHECKING:
    from epee.workflow.policy_comparison import PolicyEvaluation

NOT_AVAILABLE = "n/a"

SUMMARY_HEADERS = (
    "policy",
    "parameters",
    "dev metric",
    "test metric",
    "layer speed-up",
    "FLOPs speed-up",
    "wall-clock speed-up",
)
NUMERIC_FROM = 2
"""Columns from this index on hold numbers (right-aligned)."""


def marked(text: str, degenerate: str | None) -> str:
    """``text``, followed by a degenerate mark when the setting is degenerate (the reason is in the per-exit table)."""
    return f"{text} (degenerate)" if degenerate else text


def in_points(metric: float | None) -> str:
    """A metric in [0, 1] as points with two decimals (0.8512 -> ``85.12``)."""
    return NOT_AVAILABLE if metric is None else f"{100 * metric:.2f}"


def as_factor(speedup: float | None) -> str:
    """A speed-up as a factor (1.849 -> ``1.85x``), never as a saved fraction."""
    return NOT_AVAILABLE if speedup is None else f"{speedup:.2f}x"


def summary_table(
    calibration: CalibrationResult,
    evaluations: Sequence[PolicyEvaluation],
    per_exit_test_metric: Sequence[float] | None,
) -> Table:
    """One row per evaluated policy, then the last exit (the reference) and the oracle (the bound).

    The last exit's FLOPs speed-up is taken from a calibrated point that sends every sample to the
    last exit (the budget policy's), since only such a point charges the exit heads; otherwise n/a.
    Neither reference row has a measured wall clock. A metric of a setting that is degenerate on
    that split (:mod:`epee.tasks.degeneracy`) carries a "(degenerate)" mark.
    """
    dev_degenerate = {(point.policy, str(point.params)): point.degenerate for point in calibration.points}
    rows = [
        (
            evaluation.policy,
            format_params(evaluation.params),
            marked(in_points(evaluation.dev_metric), dev_degenerate.get((evaluation.policy, str(evaluation.params)))),
            marked(in_points(evaluation.test_metric), evaluation.degenerate),
            as_factor(evaluation.layer_speedup),
            as_factor(evaluation.flops_speedup),
            as_factor(evaluation.wallclock_speedup) + ("!" if evaluation.wallclock_flag else ""),
        )
        for evaluation in evaluations
    ]
    last_exit_test = None if per_exit_test_metric is None else per_exit_test_metric[-1]
    last_exit_degenerate = calibration.per_exit_degenerate[-1] if calibration.per_exit_degenerate else None
    rows.append(
        (
            "last exit",
            f"all {calibration.num_layers} layers",
            marked(in_points(calibration.last_exit_metric), last_exit_degenerate),
            in_points(last_exit_test),
            as_factor(1.0),
            as_factor(_last_exit_flops_speedup(calibration)),
            NOT_AVAILABLE,
        )
    )
    oracle = calibration.oracle
    rows.append(
        (
            "oracle (bound)",
            f"{format_params(oracle.params)}; not deployable",
            in_points(oracle.metric),
            NOT_AVAILABLE,
            as_factor(oracle.layer_speedup),
            as_factor(oracle.flops_speedup),
            NOT_AVAILABLE,
        )
    )
    return Table(headers=SUMMARY_HEADERS, rows=tuple(rows), numeric_from=NUMERIC_FROM)


def _last_exit_flops_speedup(calibration: CalibrationResult) -> float | None:
    for point in calibration.points:
        everyone_at_last_exit = bool(point.exit_counts) and sum(point.exit_counts[:-1]) == 0
        if everyone_at_last_exit and point.flops_speedup is not None:
            return point.flops_speedup
    return None


def per_exit_table(
    exit_layer_numbers: Sequence[int],
    per_exit_dev_metric: Sequence[float],
    per_exit_test_metric: Sequence[float] | None,
    *,
    dev_degenerate: Sequence[str | None] = (),
    test_degenerate: Sequence[str | None] = (),
    majority_dev_metric: float | None = None,
    majority_test_metric: float | None = None,
) -> Table:
    """The metric when every sample uses one exit: the table to read before trusting any speed-up.

    With degeneracy reasons (:mod:`epee.tasks.degeneracy`) a last column says which exits are
    degenerate on which split and why; with a majority-class metric a last row shows that baseline.
    """
    headers = ("exit layer", "dev metric") + (() if per_exit_test_metric is None else ("test metric",))
    marks = dev_degenerate or test_degenerate
    if marks:
        headers += ("degenerate",)
    rows = []
    for position, layer in enumerate(exit_layer_numbers):
        row = (str(layer), in_points(per_exit_dev_metric[position]))
        if per_exit_test_metric is not None:
            row += (in_points(per_exit_test_metric[position]),)
        if marks:
            reasons = [
                f"{split}: {reasons[position]}"
                for split, reasons in (("dev", dev_degenerate), ("test", test_degenerate))
                if reasons and reasons[position]
            ]
            row += ("; ".join(reasons) or "-",)
        rows.append(row)
    if majority_dev_metric is not None or majority_test_metric is not None:
        baseline = ("majority class", in_points(majority_dev_metric))
        baseline += () if per_exit_test_metric is None else (in_points(majority_test_metric),)
        rows.append(baseline + (("-",) if marks else ()))
    return Table(headers=headers, rows=tuple(rows), numeric_from=0)
