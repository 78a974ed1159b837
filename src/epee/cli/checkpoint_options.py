"""The checkpoint option every command that loads a trained model shares."""

from __future__ import annotations

from typing import Annotated

import typer

AllowExternalBackboneOption = Annotated[
    bool,
    typer.Option(
        "--allow-external-backbone",
        help="Load a PEFT checkpoint whose base backbone lies outside it (another folder, a Hub name): trust it first.",
    ),
]
