"""``write_report``: one directory with the Markdown and HTML report, its three figures and the raw numbers.

The directory is built in a hidden sibling and renamed into place, so a reader (or a crash halfway)
never sees half a report, and a previous report at the same path is replaced whole.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from epee.atomic import atomic_directory, check_replaceable
from epee.calibrate.results import CalibrationResult, PolicyPoint
from epee.errors import EpeeError
from epee.report.documents import FigureEntry, ReportContent, render_html, render_markdown, speedup_note
from epee.report.figures import (
    exit_layers_figure,
    metric_vs_speedup_figure,
    per_exit_metric_figure,
    policy_colors,
    save_png,
)
from epee.report.tables import per_exit_table, summary_table
from epee.runtime.outputs import check_writable_directory

if TYPE_CHECKING:
    from epee.workflow.policy_comparison import PolicyEvaluation

REPORT_JSON = "report.json"
METRIC_VS_SPEEDUP_PNG = "metric_vs_speedup.png"
PER_EXIT_METRIC_PNG = "per_exit_metric.png"
EXIT_LAYERS_PNG = "exit_layers.png"


def write_report(
    directory: Path,
    *,
    title: str,
    calibration: CalibrationResult,
    selections: Mapping[str, PolicyPoint],
    evaluations: Sequence[PolicyEvaluation],
    per_exit_test_metric: Sequence[float] | None,
    exit_layer_numbers: Sequence[int],
    num_layers: int,
    metric_name: str,
    facts: Mapping[str, str],
    explanation: str,
    per_exit_test_degenerate: Sequence[str | None] = (),
    majority_test_metric: float | None = None,
    certificate: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``report.md``, ``report.html``, three PNG figures and ``report.json`` into ``directory``.

    ``calibration`` holds the dev points and ``selections`` the point chosen per policy on dev;
    ``evaluations`` are those choices applied to test. ``facts`` (model, data, sizes, machine, ...)
    and ``explanation`` (a plain-language paragraph) are printed as given. Degenerate exits and
    settings are marked: on dev from ``calibration``, on test from ``per_exit_test_degenerate`` and
    each evaluation; ``majority_test_metric`` adds the test baseline beside the dev one; ``certificate`` (the
    risk rule's, :class:`epee.calibrate.risk.RiskCertificate` as a dict) is kept in ``report.json``; its
    plain-words statement belongs in ``facts``. An existing report at
    ``directory`` is replaced; any other non-empty directory there is refused rather than deleted.
    Returns the report directory.
    """
    directory = Path(directory)
    _check_inputs(calibration, evaluations, per_exit_test_metric, exit_layer_numbers, num_layers)
    check_report_directory(directory)

    colors = policy_colors([*calibration.policies, *selections, *(evaluation.policy for evaluation in evaluations)])
    figures = (
        (
            FigureEntry(
                METRIC_VS_SPEEDUP_PNG,
                "Metric vs layer speed-up (dev)",
                "Faint markers are every calibrated setting, lines each policy's Pareto frontier, stars the "
                "setting selected per policy; the dashed line is the last exit and the diamond the oracle bound.",
            ),
            metric_vs_speedup_figure(calibration, selections, metric_name=metric_name, colors=colors),
        ),
        (
            FigureEntry(
                PER_EXIT_METRIC_PNG,
                "Metric of each exit",
                "Each exit's metric when every sample uses it. Early exits near the majority-class floor, or a "
                "later exit scoring below an earlier one (overthinking), explain what the policies can gain.",
            ),
            per_exit_metric_figure(
                exit_layer_numbers, calibration.per_exit_metric, per_exit_test_metric, metric_name=metric_name
            ),
        ),
        (
            FigureEntry(
                EXIT_LAYERS_PNG,
                "Exit layers on test",
                "Share of test examples leaving at each layer, per evaluated policy.",
            ),
            exit_layers_figure(evaluations, num_layers=num_layers, colors=colors),
        ),
    )
    content = ReportContent(
        title=title,
        facts=facts,
        explanation=explanation,
        summary=summary_table(calibration, evaluations, per_exit_test_metric),
        speedup_note=speedup_note(num_layers, busy=any(evaluation.wallclock_flag for evaluation in evaluations)),
        per_exit=per_exit_table(
            exit_layer_numbers,
            calibration.per_exit_metric,
            per_exit_test_metric,
            dev_degenerate=calibration.per_exit_degenerate,
            test_degenerate=per_exit_test_degenerate,
            majority_dev_metric=calibration.majority_metric,
            majority_test_metric=majority_test_metric,
        ),
        figures=tuple(entry for entry, _ in figures),
    )
    raw_numbers = {
        "title": title,
        "metric_name": metric_name,
        "num_layers": num_layers,
        "exit_layer_numbers": list(exit_layer_numbers),
        "facts": dict(facts),
        "explanation": explanation,
        "calibration": calibration.to_dict(),
        "selections": {name: point.to_dict() for name, point in selections.items()},
        "evaluations": [evaluation.to_dict() for evaluation in evaluations],
        "per_exit_test_metric": None if per_exit_test_metric is None else list(per_exit_test_metric),
        "per_exit_test_degenerate": list(per_exit_test_degenerate),
        "majority_test_metric": majority_test_metric,
        **({"certificate": dict(certificate)} if certificate is not None else {}),
    }

    with atomic_directory(directory, marker=REPORT_JSON, kind="report") as staging:
        for entry, figure in figures:
            save_png(figure, staging / entry.file_name)
        (staging / "report.md").write_text(render_markdown(content), encoding="utf-8")
        (staging / "report.html").write_text(render_html(content), encoding="utf-8")
        (staging / REPORT_JSON).write_text(json.dumps(raw_numbers, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return directory


def _check_inputs(
    calibration: CalibrationResult,
    evaluations: Sequence[PolicyEvaluation],
    per_exit_test_metric: Sequence[float] | None,
    exit_layer_numbers: Sequence[int],
    num_layers: int,
) -> None:
    """Refuse inconsistent or non-finite inputs before anything is drawn, naming the culprit."""
    if num_layers != calibration.num_layers:
        raise EpeeError(f"num_layers is {num_layers} but the calibration was run with {calibration.num_layers}.")
    if tuple(exit_layer_numbers) != tuple(calibration.exit_layer_numbers):
        raise EpeeError(
            f"exit_layer_numbers {list(exit_layer_numbers)} differ from the calibration's "
            f"{list(calibration.exit_layer_numbers)}; pass the layers of the model that was calibrated."
        )
    if per_exit_test_metric is not None and len(per_exit_test_metric) != len(exit_layer_numbers):
        raise EpeeError(
            f"per_exit_test_metric has {len(per_exit_test_metric)} values for {len(exit_layer_numbers)} exits."
        )
    if not evaluations:
        raise EpeeError("A report needs at least one evaluated policy; got no evaluations.")
    for evaluation in evaluations:
        outside = [layer for layer in evaluation.exit_layers if not 1 <= layer <= num_layers]
        if not evaluation.exit_layers or outside:
            raise EpeeError(
                f"Policy {evaluation.policy!r} has exit layers outside [1, {num_layers}] or none at all "
                f"(first offenders: {outside[:5]}); exit layers are 1-based backbone layer numbers."
            )
    for label, value in _numbers(calibration, evaluations, per_exit_test_metric):
        if not math.isfinite(value):
            raise EpeeError(f"{label} is {value}; every reported number must be finite.")


def _numbers(
    calibration: CalibrationResult,
    evaluations: Sequence[PolicyEvaluation],
    per_exit_test_metric: Sequence[float] | None,
) -> Iterator[tuple[str, float]]:
    """Every number the report prints or plots, with a label that says where it came from."""
    for position, metric in enumerate(calibration.per_exit_metric):
        yield f"Dev metric of exit {position}", metric
    for position, metric in enumerate(per_exit_test_metric or ()):
        yield f"Test metric of exit {position}", metric
    for point in (*calibration.points, calibration.oracle):
        for field in ("metric", "layer_speedup", "flops_speedup"):
            value = getattr(point, field)
            if value is not None:
                yield f"Calibration {field} of {point.policy} {point.params}", value
    for evaluation in evaluations:
        for field in ("dev_metric", "test_metric", "layer_speedup", "flops_speedup", "wallclock_speedup"):
            value = getattr(evaluation, field)
            if value is not None:
                yield f"{field} of evaluated policy {evaluation.policy!r}", value


def check_report_directory(directory: Path) -> None:
    """Only a previous report (or nothing) may be replaced, and the place must be writable: checked before
    the minutes of inference a report takes. A directory epee did not write is never deleted."""
    directory = Path(directory)
    check_replaceable(directory, REPORT_JSON, "report")
    check_writable_directory(directory if directory.is_dir() else directory.parent)
