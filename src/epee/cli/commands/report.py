"""``epee report``: every policy calibrated on dev, assessed on test with wall clock, written as a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.cli.calibration_options import (
    AllowDegenerateOption,
    DeltaOption,
    PerLabelRiskOption,
    RiskOption,
    risk_settings,
)
from epee.cli.checkpoint_options import AllowExternalBackboneOption
from epee.cli.data_options import DataOverrides, with_data_options
from epee.cli.errors import user_errors
from epee.cli.output import console


@user_errors
@with_data_options
def report(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Report directory to write.")],
    data_options: DataOverrides,
    allow_external_backbone: AllowExternalBackboneOption = False,
    epsilon: Annotated[
        float, typer.Option(help="Allowed metric loss vs the last exit, in points; with --rule risk, in % of answers.")
    ] = 1.0,
    allow_degenerate: AllowDegenerateOption = False,
    timing_rows: Annotated[
        int | None, typer.Option(help="Time a seeded sample of N test rows [default: every test row].")
    ] = None,
    no_timing: Annotated[
        bool, typer.Option("--no-timing", help="Measure no wall clock (metrics, layer and FLOPs speed-ups only).")
    ] = False,
    rule: Annotated[str, typer.Option(help="fastest_within, or risk (one certified setting).")] = "fastest_within",
    risk: RiskOption = "consistency",
    delta: DeltaOption = 0.1,
    per_label_risk: PerLabelRiskOption = False,
) -> None:
    """Calibrate every policy on dev, evaluate each on test with wall clock, write a report directory.

    Data options default to the recipe recorded in the checkpoint; any option given replaces that one field.
    """
    from epee.cli.results import present_results
    from epee.errors import EpeeError
    from epee.report.writer import check_report_directory
    from epee.workflow.assessment import assess_on_test, calibrate_on_dev
    from epee.workflow.checkpoint_data import load_checkpoint_and_data

    if timing_rows is not None and timing_rows < 1:
        raise EpeeError(f"--timing-rows must be a positive number of rows, got {timing_rows}.")
    settings = risk_settings(rule, risk, epsilon, delta, per_label_risk)
    check_report_directory(output)  # before minutes of inference, not after
    model, dataset = load_checkpoint_and_data(checkpoint, data_options, allow_external_backbone=allow_external_backbone)
    calibrated = calibrate_on_dev(
        model, dataset, rule=rule, value=epsilon / 100, allow_degenerate=allow_degenerate, risk=settings
    )
    assessed = assess_on_test(model, dataset, calibrated.selections, wallclock_rows=timing_rows, timing=not no_timing)
    present_results(model, dataset, calibrated, assessed, epsilon, output, f"epee report: {dataset.name}", console)
