"""``epee evaluate``: every exit's metrics on a split beside the majority-class baseline, and optionally one
exit policy's metric, layer and FLOPs speed-up on the same rows (no timing: ``epee report`` times)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.cli.checkpoint_options import AllowExternalBackboneOption
from epee.cli.data_options import DataOverrides, with_data_options
from epee.cli.errors import user_errors
from epee.cli.output import console
from epee.cli.policy_options import CALIBRATED, ParamOption, policy_for_model
from epee.cli.tables import per_exit_table
from epee.table import to_rich


@user_errors
@with_data_options
def evaluate(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    data_options: DataOverrides,
    allow_external_backbone: AllowExternalBackboneOption = False,
    split: Annotated[str | None, typer.Option(help="dev or test [default: test with --policy, else dev].")] = None,
    policy: Annotated[
        str | None,
        typer.Option(help=f"Also score an exit policy: {CALIBRATED} (the checkpoint's) or a name [default: none]."),
    ] = None,
    param: ParamOption = None,
) -> None:
    """Every exit's metrics on a split beside the majority-class baseline: look before trusting a speed-up.

    With --policy, that policy's metric beside the last exit's, with its layer and FLOPs speed-up.
    Data options default to the recipe recorded in the checkpoint; any option given replaces that one field.
    """
    from epee.errors import EpeeError
    from epee.formatting import format_params
    from epee.tasks.metrics import metric_title
    from epee.workflow.checkpoint_data import load_checkpoint_and_data
    from epee.workflow.exit_table import exit_metric_table

    split = split or ("test" if policy else "dev")
    if split not in ("dev", "test"):
        raise EpeeError(f"--split must be dev or test, got {split!r}.")
    model, dataset = load_checkpoint_and_data(checkpoint, data_options, allow_external_backbone=allow_external_backbone)
    chosen = policy_for_model(model, policy, param)
    table = exit_metric_table(model, dataset, split, chosen)
    count = len(getattr(dataset, split) or [])
    title = f"{split} metrics per exit ({count} examples; judged by {metric_title(dataset)})"
    console.print(to_rich(per_exit_table(title, [*model.exit_layers, "majority"], table.metrics, table.degenerate)))
    score = table.policy
    if score is not None:
        marked = f" [bold red]degenerate: {score.degenerate}[/bold red]" if score.degenerate else ""
        console.print(
            f"{score.policy} ({format_params(score.params)}) on {split}: {metric_title(dataset)} "
            f"{100 * score.metric:.2f} vs "
            f"last exit {100 * score.last_exit_metric:.2f} ({100 * (score.metric - score.last_exit_metric):+.2f} "
            f"points); mean exit layer {score.mean_exit_layer:.2f} of {score.num_layers}, layer speed-up "
            f"{score.layer_speedup:.2f}x, FLOPs speed-up {score.flops_speedup:.2f}x.{marked}",
            highlight=False,
        )
