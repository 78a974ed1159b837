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
RECORDED = "[default: as the checkpoint recorded it]"
"""What every data option defaults to in a command that loads a checkpoint."""

_HELP = {
    "dataset": (f"A registered dataset: {', '.join(DATASETS)}.", "[default: none; give --dataset or --data]"),
    "data": (
        "Your own training data: a CSV, TSV or JSON-lines table; or images, as a MedMNIST-layout .npz or a folder "
        "(root/{train,val,test}/<class>/*.png, or root/<class>/*.png split by --seed).",
        "[default: none; give --dataset or --data]",
    ),
    "dev": (
        "Your own dev file (images: a folder of class folders).",
        "[default: the dev rows of --split-column, else 10% of --data]",
    ),
    "test": ("Your own test file.", "[default: the test rows of --split-column, else none]"),
    "format": ("csv, tsv, jsonl or json.", "[default: from the suffix]"),
    "text_column": ("Column holding the text.", "[default: text]"),
    "label_column": ("Column holding the label(s).", "[default: label]"),
    "text_pair_column": ("Second-text column, for pairs.", "[default: none]"),
    "label_separator": ("Separator of labels in a cell (multi-label).", "[default: none, one label per row]"),
    "split_column": ("Column of --data naming each row's split: train, dev (or validation), test.", "[default: none]"),
    "data_dir": ("Folder of registered datasets.", "[default: $EPEE_DATA_DIR, else ../shared/data]"),
    "max_examples": ("Subsample each split (stratified, seeded) to N.", "[default: every example]"),
    "encoding": ("Text encoding of your files, e.g. latin-1.", "[default: UTF-8]"),
    "metric": (
        "What your data is judged by (training's best epoch, calibration's --epsilon): macro_f1, micro_f1, "
        "f1_positive, micro_f1_excluding, accuracy, balanced_accuracy, auc (of the probabilities); multi-label "
        "micro_f1 or macro_f1. Stored in the checkpoint.",
        "[default: two classes f1_positive of the rarer (or of --positive-label); more classes macro_f1 "
        "(micro_f1_excluding with --negative-label); multi-label micro_f1]",
    ),
    "positive_label": (
        "The class f1_positive scores (naming it makes f1_positive the default).",
        "[default: the rarer of two]",
    ),
    "negative_label": (
        "The 'no relation' class micro_f1_excluding leaves out (and the default metric then).",
        "[default: none]",
    ),
    "seed": ("Seed of splits and subsamples.", f"[default: {DEFAULT_SEED}]"),
}
_TYPES = {"data": Path, "dev": Path, "test": Path, "data_dir": Path, "max_examples": int, "seed": int}


def data_option_annotations(*, recorded: bool) -> dict[str, Any]:
    """Each data option's annotation; ``recorded``: the defaults come from the checkpoint's recipe."""
    annotations = {}
    for name, (text, default) in _HELP.items():
        option = typer.Option(
            "--" + name.replace("_", "-"), help=f"{text} {RECORDED if recorded else default}", rich_help_panel=_PANEL
        )
        annotations[name] = Annotated[_TYPES.get(name, str) | None, option]
    return annotations


DATA_OPTIONS = data_option_annotations(recorded=True)
TRAINING_DATA_OPTIONS = data_option_annotations(recorded=False)


def with_data_options(command: Callable | None = None, *, recorded: bool = True) -> Callable:
    """Add every data option to ``command``'s signature; the command receives them as ``data_options``.

    ``recorded=False`` (``epee train``) documents the recipe's own defaults instead of the checkpoint's.
    """
    if command is None:
        return functools.partial(with_data_options, recorded=recorded)
    options = DATA_OPTIONS if recorded else TRAINING_DATA_OPTIONS
    signature = inspect.signature(command, eval_str=True)
    own = [parameter for parameter in signature.parameters.values() if parameter.name != "data_options"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=None)
        for name, annotation in options.items()
    ]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        given = {name: kwargs.pop(name, None) for name in options}
        return command(*args, data_options=given, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *added])
    return wrapper
