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
