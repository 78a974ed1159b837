"""``epee``: train multi-exit models, calibrate exit policies, predict with early exits, report.

Each command lives in its own module under :mod:`epee.cli.commands`; this module only assembles them.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from epee.cli.commands.calibrate import calibrate
from epee.cli.commands.demo import demo
from epee.cli.commands.evaluate import evaluate
from epee.cli.commands.export import export
from epee.cli.commands.predict import predict
from epee.cli.commands.report import report
from epee.cli.commands.serve import serve
from epee.cli.commands.train import train

app = typer.Typer(
    help="Early-exit inference for biomedical transformers: train exits, calibrate a policy, predict faster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say [default: ...]; markup would swallow it
)


@app.callback()
def _configure(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    for noisy in ("httpx", "urllib3", "transformers", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


for command in (train, predict, calibrate, evaluate, export, demo, report, serve):
    app.command()(command)
