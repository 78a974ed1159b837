"""``epee evaluate``: every exit's metrics on a split, beside the majority-class baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.cli.checkpoint_options import AllowExternalBackboneOption
from epee.cli.data_options import DataOverrides, with_data_options
from epee.cli.errors import user_errors
from epee.cli.output import console
from epee.cli.tables import per_exit_table
from epee.table import to_rich


@user_errors
@with_data_options
def evaluate(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    data_options: DataOverrides,
    allow_external_backbone: AllowExternalBackboneOption = False,
    split: Annotated[str, typer.Option(help="dev or test.")] = "dev",
) -> None:
    """Every exit's metrics on a split, beside the majority-class baseline: look before trusting a speed-up.

    Data options default to the recipe recorded in the checkpoint; any option given replaces that one field.
    """
    from epee.errors import EpeeError
    from epee.workflow.checkpoint_data import load_checkpoint_and_data
    from epee.workflow.exit_table import exit_metric_table

    if split not in ("dev", "test"):
        raise EpeeError(f"--split must be dev or test, got {split!r}.")
    model, dataset = load_checkpoint_and_data(checkpoint, data_options, allow_external_backbone=allow_external_backbone)
    table = exit_metric_table(model, dataset, split)
    title = f"{split} metrics per exit ({len(getattr(dataset, split) or [])} examples)"
    console.print(to_rich(per_exit_table(title, [*model.exit_layers, "majority"], table.metrics, table.degenerate)))
