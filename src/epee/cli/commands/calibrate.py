"""``epee calibrate``: pick an exit policy and its thresholds on the dev split, store them in the checkpoint."""

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
from epee.cli.engine_options import ENGINES, engine_words
from epee.cli.errors import user_errors
from epee.cli.output import console
from epee.cli.risk_output import show_certificate
from epee.cli.tables import frontier_table, per_exit_table, skipped_text
from epee.formatting import format_params
from epee.table import to_rich


@user_errors
@with_data_options
def calibrate(
    checkpoint: Annotated[
        Path, typer.Argument(help="Checkpoint directory written by `epee train`, or with --engine onnx an export.")
    ],
    data_options: DataOverrides,
    allow_external_backbone: AllowExternalBackboneOption = False,
    rule: Annotated[
        str,
        typer.Option(
            help="fastest_within (--epsilon), best_at_speedup (--target-speedup), at_least_last_exit, or risk "
            "(certified: --risk, --epsilon, --delta)."
        ),
    ] = "fastest_within",
    epsilon: Annotated[
        float, typer.Option(help="Allowed metric loss vs the last exit, in points; with --rule risk, in % of answers.")
    ] = 1.0,
    target_speedup: Annotated[
        float | None, typer.Option(help="Layer speed-up for best_at_speedup [default: none; that rule needs it].")
    ] = None,
    policies: Annotated[
        str | None, typer.Option(help="Comma-separated policies to calibrate [default: all deployable ones].")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the calibrated checkpoint here [default: in place].")
    ] = None,
    allow_degenerate: AllowDegenerateOption = False,
    risk: RiskOption = "consistency",
    delta: DeltaOption = 0.1,
    per_label_risk: PerLabelRiskOption = False,
    calibration_data: Annotated[
        Path | None,
        typer.Option(
            help="With --rule risk --risk consistency: certify on this file's texts (--text-column), no labels "
            "read [default: the dev split]."
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="torch (a checkpoint), or onnx (a directory written by `epee export`, calibrated on its own "
            "graphs' exits, which int8 moves; the policy is stored there)."
        ),
    ] = "torch",
) -> None:
    """Pick an exit policy and its thresholds on the dev split (by default the one the model was trained with).

    Data options default to the recipe recorded in the checkpoint; any option given replaces that one field.
    """
    from epee.atomic import check_replaceable
    from epee.errors import EpeeError
    from epee.models.config import CONFIG_NAME
    from epee.models.multi_exit import copy_checkpoint
    from epee.policies import DEPLOYABLE_POLICIES
    from epee.tasks.metrics import metric_title
    from epee.workflow.assessment import calibrate_on_dev
    from epee.workflow.checkpoint_data import load_checkpoint_and_data

    if engine not in ENGINES:
        raise EpeeError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    value = {"fastest_within": epsilon / 100, "best_at_speedup": target_speedup}.get(rule)
    if rule == "best_at_speedup" and target_speedup is None:
        raise EpeeError("The best_at_speedup rule needs --target-speedup.")
    settings = risk_settings(rule, risk, epsilon, delta, per_label_risk)
    if output is not None:
        check_replaceable(output, CONFIG_NAME, "checkpoint")  # before the work, not after it
    if calibration_data is not None:
        from epee.cli.risk_output import calibrate_on_file

        calibrate_on_file(
            checkpoint, calibration_data, data_options, settings, policies, output, allow_external_backbone, engine
        )
        return
    model, dataset = load_checkpoint_and_data(
        checkpoint, data_options, allow_external_backbone=allow_external_backbone, engine=engine
    )
    chosen = tuple(policies.split(",")) if policies else DEPLOYABLE_POLICIES
    calibrated = calibrate_on_dev(
        model, dataset, rule=rule, value=value, policies=chosen, allow_degenerate=allow_degenerate, risk=settings
    )
    result, selected = calibrated.calibration, calibrated.selected
    rows, dev = [*model.exit_layers, "majority"], [*result.per_exit_metric, result.majority_metric]
    per_exit = per_exit_table(f"Dev {metric_title(dataset)} per exit", rows, {"dev": dev}, result.per_exit_degenerate)
    console.print(to_rich(per_exit))
    console.print(to_rich(frontier_table(result, selected)))
    if calibrated.skipped is not None:
        console.print(skipped_text(calibrated.skipped))
    if output is not None:
        copy_checkpoint(checkpoint, output)
    model.save_policy(output or checkpoint)
    if calibrated.certificate is not None:
        show_certificate(model.config.calibration["tested"], calibrated.certificate)
    console.print(
        f"Selected [bold]{selected.policy}[/bold] ({format_params(selected.params)}): dev {metric_title(dataset)} "
        f"{100 * selected.metric:.2f} vs last exit {100 * result.last_exit_metric:.2f}, layer speed-up "
        f"{selected.layer_speedup:.2f}x{engine_words(model)}; stored in {output or checkpoint}."
    )
