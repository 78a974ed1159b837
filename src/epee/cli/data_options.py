"""The data options the commands share, declared once: a registered dataset by name, or the user's own files.

:func:`with_data_options` adds them to a command and hands the command the options the user GAVE
(``None`` = not given), so a command that works on a checkpoint can fill the rest from the data
recipe the checkpoint recorded, and ``epee train`` from the recipe's defaults.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from epee.data import DATASETS
from epee.data.recipe import DEFAULT_SEED

DataOverrides = dict[str, Any]
"""Data options as the user gave them: recipe field -> value, ``None`` where not given."""

_PANEL = "Data"
DATA_OPTIONS: dict[str, Any] = {
    "dataset": Annotated[
        str | None,
        typer.Option("--dataset", help=f"A registered dataset: {', '.join(DATASETS)}.", rich_help_panel=_PANEL),
    ],
    "data": Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Your own training data: a CSV, TSV or JSON-lines table; or images, as a MedMNIST-layout .npz or a "
            "folder (root/{train,val,test}/<class>/*.png, or root/<class>/*.png split by --seed).",
            rich_help_panel=_PANEL,
        ),
    ],
    "dev": Annotated[
        Path | None, typer.Option(
            "--dev", help="Your own dev file (images: a folder of class folders) [default: 10% of --data].",
            rich_help_panel=_PANEL,
        )
    ],
    "test": Annotated[Path | None, typer.Option("--test", help="Your own test file.", rich_help_panel=_PANEL)],
    "format": Annotated[
        str | None,
        typer.Option("--format", help="csv, tsv, jsonl or json [default: from the suffix].", rich_help_panel=_PANEL),
    ],
    "text_column": Annotated[
        str | None,
        typer.Option("--text-column", help="Column holding the text [default: text].", rich_help_panel=_PANEL),
    ],
    "label_column": Annotated[
        str | None,
        typer.Option("--label-column", help="Column holding the label(s) [default: label].", rich_help_panel=_PANEL),
    ],
    "text_pair_column": Annotated[
        str | None, typer.Option("--text-pair-column", help="Optional second-text column.", rich_help_panel=_PANEL)
    ],
    "label_separator": Annotated[
        str | None,
        typer.Option("--label-separator", help="Separator of labels in a cell (multi-label).", rich_help_panel=_PANEL),
    ],
    "split_column": Annotated[
        str | None,
        typer.Option(
            "--split-column",
            help="Column of --data naming each row's split: train, dev (or validation), test.",
            rich_help_panel=_PANEL,
        ),
    ],
    "data_dir": Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Folder of registered datasets [default: $EPEE_DATA_DIR].", rich_help_panel=_PANEL
        ),
    ],
    "max_examples": Annotated[
        int | None,
        typer.Option("--max-examples", help="Subsample each split (stratified, seeded) to N.", rich_help_panel=_PANEL),
    ],
    "encoding": Annotated[
        str | None,
        typer.Option(
            "--encoding", help="Text encoding of your files, e.g. latin-1 [default: UTF-8].", rich_help_panel=_PANEL
        ),
    ],
    "metric": Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="What your data is judged by (training's best epoch, calibration's --epsilon): macro_f1, micro_f1, "
            "f1_positive, micro_f1_excluding, accuracy, balanced_accuracy, auc (of the decisions); multi-label "
            "micro_f1 or macro_f1 [default: macro_f1; multi-label micro_f1; f1_positive scores the rarer of two "
            "classes unless --positive-label]. Stored in the checkpoint.",
            rich_help_panel=_PANEL,
        ),
    ],
    "positive_label": Annotated[
        str | None,
        typer.Option(
            "--positive-label", help="The class f1_positive scores [default: the rarer of two].", rich_help_panel=_PANEL
        ),
    ],
    "negative_label": Annotated[
        str | None,
        typer.Option(
            "--negative-label",
            help="The 'no relation' class micro_f1_excluding leaves out (and the default metric then).",
            rich_help_panel=_PANEL,
        ),
    ],
    "seed": Annotated[
        int | None,
        typer.Option(
            "--seed", help=f"Seed of splits and subsamples [default: {DEFAULT_SEED}].", rich_help_panel=_PANEL
        ),
    ],
}


def with_data_options(command: Callable) -> Callable:
    """Add every data option to ``command``'s signature; the command receives them as ``data_options``."""
    signature = inspect.signature(command, eval_str=True)
    own = [parameter for parameter in signature.parameters.values() if parameter.name != "data_options"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=None)
        for name, annotation in DATA_OPTIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        given = {name: kwargs.pop(name, None) for name in DATA_OPTIONS}
        return command(*args, data_options=given, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *added])
    return wrapper
