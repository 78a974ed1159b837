"""The data options every command shares: a registered dataset by name, or the user's own file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.data import DATASETS, Dataset, load_dataset
from epee.data.user_files import dataset_from_files
from epee.errors import EpeeError

DatasetOption = Annotated[
    str | None, typer.Option("--dataset", help=f"A registered dataset: {', '.join(DATASETS)}.", show_default=False)
]
DataOption = Annotated[
    Path | None, typer.Option("--data", help="Your own training file (CSV, TSV or JSON lines).", show_default=False)
]
DevOption = Annotated[Path | None, typer.Option("--dev", help="Your own dev file (default: 10% of --data).")]
TestOption = Annotated[Path | None, typer.Option("--test", help="Your own test file.")]
FormatOption = Annotated[str | None, typer.Option("--format", help="csv, tsv, jsonl or json (default: from suffix).")]
TextColumnOption = Annotated[str, typer.Option("--text-column", help="Column holding the text.")]
LabelColumnOption = Annotated[str, typer.Option("--label-column", help="Column holding the label(s).")]
PairColumnOption = Annotated[str | None, typer.Option("--text-pair-column", help="Optional second-text column.")]
SeparatorOption = Annotated[
    str | None, typer.Option("--label-separator", help="Makes the task multi-label: separator of labels in a cell.")
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder of the registered datasets (default: $EPEE_DATA_DIR).")
]
MaxExamplesOption = Annotated[
    int | None, typer.Option("--max-examples", help="Subsample each split of a registered dataset to at most N.")
]


def load_data(
    dataset: str | None,
    data: Path | None,
    *,
    dev: Path | None = None,
    test: Path | None = None,
    format: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    text_pair_column: str | None = None,
    label_separator: str | None = None,
    data_dir: Path | None = None,
    max_examples: int | None = None,
    seed: int = 42,
) -> Dataset:
    if (dataset is None) == (data is None):
        raise EpeeError("Give exactly one of --dataset NAME (a registered dataset) or --data FILE (your own file).")
    if dataset is not None:
        options = {"max_examples": max_examples} if max_examples is not None else {}
        return load_dataset(dataset, data_dir, seed=seed, **options)
    return dataset_from_files(
        data,
        dev_path=dev,
        test_path=test,
        format=format,
        text_column=text_column,
        label_column=label_column,
        text_pair_column=text_pair_column,
        label_separator=label_separator,
        seed=seed,
    )


def load_checkpoint_and_data(checkpoint: Path, dataset: str | None, data: Path | None, **options):
    """A checkpoint and the data to judge it on, its labels put in the model's order so ids match the heads."""
    from epee.data.examples import with_label_order
    from epee.models import MultiExitModel

    loaded = load_data(dataset, data, **options)
    model = MultiExitModel.from_pretrained(checkpoint)
    return model, with_label_order(loaded, model.config.label_names)
