"""A dataset from the user's own files, for ``epee train --data FILE``: CSV/TSV/JSON tables, or images
(a MedMNIST-layout ``.npz`` or a folder of class folders, read by :mod:`epee.data.user_images`).

Choices a benchmark reader would fix per corpus are made here from the data:

* the task is multi-label when ``label_separator`` is given or a JSON label is a list;
* ``label_names`` are the labels seen in train, sorted, so the same files always give the same ids;
* with ``split_column``, that column of the training file says each row's split (train, dev or
  validation, test); a column named ``split`` that is not named so is an error, because reading it as
  data would train on the test rows;
* without a dev file or dev rows, dev is a seeded, stratified ``dev_fraction`` (0.1) of train; an
  image folder without split folders gives up another ``dev_fraction`` of it for test;
* the metric, unless named, is :func:`default_metric`'s choice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from epee.data.examples import AnyExample, Dataset, Example
from epee.data.sampling import stratified_split, subsample_splits
from epee.data.tabular import DEFAULT_ENCODING, Row, describe_columns, examples_from_rows, read_rows, same_file
from epee.data.user_images import is_image_source, read_class_folders, read_folder_splits, read_npz_splits
from epee.errors import EpeeError

logger = logging.getLogger(__name__)

SPLIT_VALUES = {"train": "train", "dev": "dev", "validation": "dev", "test": "test"}
"""The values a split column may hold (any case), and the split each one names."""
UNUSED_SPLIT_COLUMN = "split"


def _check_distinct_files(train: str | Path, dev: str | Path | None, test: str | Path | None) -> None:
    """Test must be data that neither trained the model nor chose its thresholds; dev = train only earns a warning."""
    for other_name, other in (("train", train), ("dev", dev)):
        if test is not None and other is not None and same_file(Path(test), Path(other)):
            raise EpeeError(
                f"The test file {test} is also the {other_name} file; test figures from data the model was "
                f"{'trained' if other_name == 'train' else 'calibrated'} on mean nothing. Give a separate test file."
            )
    if dev is not None and same_file(Path(dev), Path(train)):
        logger.warning("The dev file is the train file: epochs and thresholds will be chosen on training data.")


def dataset_from_files(
    train_path: str | Path,
    *,
    dev_path: str | Path | None = None,
    test_path: str | Path | None = None,
    format: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    text_pair_column: str | None = None,
    label_separator: str | None = None,
    group_column: str | None = None,
    split_column: str | None = None,
    negative_label: str | None = None,
    metric: str | None = None,
    positive_label: str | None = None,
    dev_fraction: float = 0.1,
    seed: int = 0,
    max_examples: int | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> Dataset:
    """Read train (and optional dev/test) tables with the same columns into a validated Dataset.

    ``max_examples`` caps every split (stratified, seeded) after dev is carved out, as for the
    registered datasets.
    """
    if max_examples is not None and max_examples < 1:
        raise EpeeError(f"max_examples must be a positive number of examples, got {max_examples}.")
    _check_distinct_files(train_path, dev_path, test_path)
    if is_image_source(train_path):
        return dataset_from_images(
            train_path,
            dev_path=dev_path,
            test_path=test_path,
            metric=metric,
            positive_label=positive_label,
            negative_label=negative_label,
            dev_fraction=dev_fraction,
            seed=seed,
            max_examples=max_examples,
        )

    def examples(rows: list[Row], source: str | Path) -> list[Example]:
        return examples_from_rows(
            rows,
            str(source),
            text_column=text_column,
            label_column=label_column,
            text_pair_column=text_pair_column,
            label_separator=label_separator,
            group_column=group_column,
        )

    def read(path: str | Path) -> list[Row]:
        rows = read_rows(path, format=format, encoding=encoding)
        if not rows:
            raise EpeeError(f"{path} has a header but no records.")
        used = (text_column, label_column, text_pair_column, group_column)
        if (
            split_column is None
            and UNUSED_SPLIT_COLUMN not in used
            and any(UNUSED_SPLIT_COLUMN in row.values for row in rows)
        ):
            raise EpeeError(
                f"{path} has a column 'split' that epee would ignore, training on every row, test rows included; "
                f"pass --split-column {UNUSED_SPLIT_COLUMN} to use it as the split, or rename the column."
            )
        return rows

    train_rows = read(train_path)
    by_split = _rows_by_split(train_rows, split_column, str(train_path)) if split_column else {"train": train_rows}
    for split, path, option in (("dev", dev_path, "--dev"), ("test", test_path, "--test")):
        if path is not None and by_split.get(split):
            raise EpeeError(
                f"The split column {split_column!r} of {train_path} already marks {len(by_split[split])} rows as "
                f"{split}, and {option} gives a {split} file too; give one of them."
            )
    if not by_split.get("train"):
        raise EpeeError(f"No row of {train_path} is marked train in the split column {split_column!r}.")
    train = examples(by_split["train"], train_path)
    if dev_path is not None:
        dev = examples(read(dev_path), dev_path)
    elif by_split.get("dev"):
        dev = examples(by_split["dev"], train_path)
    else:
        train, dev = stratified_split(train, dev_fraction, seed=seed)
    if test_path is not None:
        test = examples(read(test_path), test_path)
    else:
        test = examples(by_split["test"], train_path) if by_split.get("test") else None
    if max_examples is not None:
        capped = subsample_splits({"train": train, "dev": dev, "test": test}, max_examples, seed=seed)
        train, dev, test = capped["train"], capped["dev"], capped["test"]
    multi_label = label_separator is not None or any(len(example.labels) != 1 for example in train)
    label_names = sorted({label for example in train for label in example.labels})
    metric, positive_label = choose_metric(
        metric,
        train,
        label_names,
        multi_label=multi_label,
        negative_label=negative_label,
        positive_label=positive_label,
    )
    return Dataset(
        name=Path(train_path).stem,
        task="multi_label" if multi_label else "single_label",
        label_names=label_names,
        train=train,
        dev=dev,
        test=test,
        metric=metric,
        negative_label=negative_label,
        positive_label=positive_label,
    )


def dataset_from_images(
    source: str | Path,
    *,
    dev_path: str | Path | None = None,
    test_path: str | Path | None = None,
    metric: str | None = None,
    positive_label: str | None = None,
    negative_label: str | None = None,
    dev_fraction: float = 0.1,
    seed: int = 0,
    max_examples: int | None = None,
) -> Dataset:
    """An image dataset from an ``.npz`` or a folder; ``dev_path`` / ``test_path`` are folders of class folders.

    Labels keep the order of their class ids in an ``.npz`` (``"2"`` before ``"10"``), of their
    folder names in a folder.
    """
    source = Path(source)
    if source.is_dir():
        splits, multi_label, class_order = read_folder_splits(source), False, None
    else:
        splits, multi_label, class_order = read_npz_splits(source)
    for split, path in (("dev", dev_path), ("test", test_path)):
        if path is None:
            continue
        if not Path(path).is_dir():
            raise EpeeError(
                f"The {split} images {path} must be a folder of class folders (<class>/<image>); an .npz brings its "
                f"own {split} split as {'val' if split == 'dev' else 'test'}_images and _labels."
            )
        splits[split] = read_class_folders(path)
    train, dev_share = splits["train"], dev_fraction
    if "test" not in splits and source.is_dir():
        train, splits["test"] = stratified_split(train, dev_fraction, seed=seed)
        dev_share = dev_fraction / (1 - dev_fraction)  # of what is left: dev and test are each dev_fraction of all
    if "dev" not in splits:
        train, splits["dev"] = stratified_split(train, dev_share, seed=seed)
    seen = {label for example in train for label in example.labels}
    label_names = sorted(seen) if class_order is None else [name for name in class_order if name in seen]
    capped = subsample_splits(
        {"train": train, "dev": splits["dev"], "test": splits.get("test")}, max_examples, seed=seed
    )
    metric, positive_label = choose_metric(
        metric,
        train,
        label_names,
        multi_label=multi_label,
        negative_label=negative_label,
        positive_label=positive_label,
    )
    return Dataset(
        name=source.stem,
        task="multi_label" if multi_label else "single_label",
        label_names=label_names,
        train=capped["train"],
        dev=capped["dev"],
        test=capped["test"],
        metric=metric,
        negative_label=negative_label,
        positive_label=positive_label,
    )


USER_METRICS = ("macro_f1", "micro_f1", "f1_positive", "micro_f1_excluding", "accuracy", "balanced_accuracy", "auc")
"""What ``--metric`` accepts. Multi-label data take ``micro_f1`` or ``macro_f1`` (over all example-label cells, or
per label); single-label ``micro_f1`` over every class is accuracy, and is named so."""

_SINGLE_LABEL_NAMES = {"micro_f1": "accuracy", "micro_f1_excluding": "micro_f1_excluding_negative"}
_MULTI_LABEL_NAMES = {"micro_f1": "multilabel_micro_f1", "macro_f1": "multilabel_macro_f1"}


def choose_metric(
    metric: str | None,
    train: Sequence[AnyExample],
    label_names: Sequence[str],
    *,
    multi_label: bool,
    negative_label: str | None = None,
    positive_label: str | None = None,
) -> tuple[str, str | None]:
    """The metric a user's data is judged by (``--metric`` or :func:`default_metric`) and its positive class.

    ``f1_positive`` scores ``positive_label``, by default (binary tasks only) the rarer class of train.
    """
    if metric is None:
        metric = default_metric(
            multi_label=multi_label,
            num_classes=len(label_names),
            negative_label=negative_label,
            positive_label=positive_label,
        )
    if multi_label:
        names = {**_MULTI_LABEL_NAMES, **{name: name for name in _MULTI_LABEL_NAMES.values()}}
        if metric not in names:
            raise EpeeError(f"--metric {metric!r} does not apply to multi-label data; choose micro_f1 or macro_f1.")
        metric = names[metric]
    else:
        metric = _SINGLE_LABEL_NAMES.get(metric, metric)
        if metric not in (
            "macro_f1",
            "f1_positive",
            "micro_f1_excluding_negative",
            "accuracy",
            "balanced_accuracy",
            "auc",
        ):
            raise EpeeError(f"Unknown --metric {metric!r}; choose one of {list(USER_METRICS)}.")
    if metric == "micro_f1_excluding_negative" and negative_label is None:
        raise EpeeError("--metric micro_f1_excluding leaves out one class: name it with --negative-label.")
    if metric != "f1_positive":
        if positive_label is not None:
            raise EpeeError(f"--positive-label names the class f1_positive scores; the metric is {metric!r}.")
        return metric, None
    if positive_label is None:
        if len(label_names) != 2:
            raise EpeeError(
                f"--metric f1_positive needs --positive-label for {len(label_names)} classes; name one of "
                f"{list(label_names)}."
            )
        counts = Counter(example.labels[0] for example in train)
        positive_label = min(label_names, key=lambda label: (counts[label], -list(label_names).index(label)))
    return metric, positive_label


def default_metric(
    *, multi_label: bool, num_classes: int, negative_label: str | None = None, positive_label: str | None = None
) -> str:
    """The metric a user's data is judged by when the user names none; the one place that choice is made.

    * A named ``negative_label``: micro-F1 over the other classes (the BLURB relation convention,
      where "no relation" earns nothing).
    * A named ``positive_label``, or two classes: F1 of that class, by default of the rarer one
      (:func:`choose_metric`), the convention of BLURB's binary relation tasks; a model that
      predicts only the majority class scores 0.
    * Otherwise single-label: macro-F1, class-balanced, because user data is rarely balanced and
      accuracy rewards a model that predicts only the majority class (:mod:`epee.tasks.degeneracy`).
    * Multi-label: micro-F1 over all (example, label) cells.
    """
    if multi_label:
        return "multilabel_micro_f1"
    if negative_label is not None:
        return "micro_f1_excluding_negative"
    if positive_label is not None or num_classes == 2:
        return "f1_positive"
    return "macro_f1"


def _rows_by_split(rows: list[Row], split_column: str, source: str) -> dict[str, list[Row]]:
    """The rows of each split named in ``split_column``; a value outside :data:`SPLIT_VALUES` is an error."""
    by_split: dict[str, list[Row]] = {"train": [], "dev": [], "test": []}
    for row in rows:
        if split_column not in row.values:
            raise EpeeError(
                f"{row.where(source)} has no split column {split_column!r}; every row needs train, dev or test there."
            )
        value = row.values[split_column]
        split = SPLIT_VALUES.get(value.strip().lower()) if isinstance(value, str) else None
        if split is None:
            shown = _describe_split_value(value)
            raise EpeeError(
                f"{row.where(source)} has {shown} in the split column {split_column!r}; use train, dev (or validation) "
                "or test."
            )
        by_split[split].append(row)
    return by_split


def _describe_split_value(value: object) -> str:
    """A split cell safe to print: a word is shown, anything longer or stranger only by its length (it may be text)."""
    if not isinstance(value, str) or not value.strip():
        return "an empty or non-text value"
    shown = describe_columns([value])[0]
    return f"a {len(value)}-character value" if shown.startswith("<") else shown
