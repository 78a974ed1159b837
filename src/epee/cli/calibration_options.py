"""Options every command that calibrates shares (``calibrate``, ``report``)."""

from __future__ import annotations

from typing import Annotated

import typer

AllowDegenerateOption = Annotated[
    bool,
    typer.Option(
        "--allow-degenerate",
        help="Let calibration select settings that predict one class for nearly everyone or do not beat the "
        "majority class (epee.tasks.degeneracy); without it they are skipped.",
    ),
]

RiskOption = Annotated[
    str,
    typer.Option(
        help="With --rule risk: consistency (answers that differ from the last exit's; needs no labels) or "
        "error_gap (answers wrong where the last exit is right)."
    ),
]
DeltaOption = Annotated[
    float, typer.Option(help="With --rule risk: the certificate may fail with at most this probability.")
]
PerLabelRiskOption = Annotated[
    bool,
    typer.Option(
        "--per-label-risk", help="With --rule risk on a multi-label model: count the fraction of labels that differ."
    ),
]


def risk_settings(rule: str, risk: str, epsilon: float, delta: float, per_label: bool):
    """The risk rule's settings from the options (``epsilon`` in percent of answers), or None for other rules."""
    from epee.calibrate.risk import RiskSettings

    return RiskSettings(risk, epsilon / 100, delta, per_label) if rule == "risk" else None
