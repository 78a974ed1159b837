"""A dataset from the user's own CSV/TSV/JSON files, for ``epee train --data FILE``.

Choices a benchmark reader would fix per corpus are made here from the data:

* the task is multi-label when ``label_separator`` is given or a JSON label is a list;
* ``label_names`` are the labels seen in train, sorted, so the same files always give the same ids;
* without a dev file, dev is a seeded, stratified ``dev_fraction`` (0.1) of train;
* the metric, unless named, is :func:`default_metric`'s choice.
"""

from __future__ import annotations

import logging
from pathlib import Path

from epee.data.examples import Dataset, Example
from epee.data.sampling import stratified_split, subsample_splits
from epee.data.tabular import DEFAULT_ENCODING, read_table, same_file
from epee.errors import EpeeError

logger = logging.getLogger(__name__)


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
    negative_label: str | None = None,
    metric: str | None = None,
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

    def read(path: str | Path) -> list[Example]:
        return read_table(
            path,
            format=format,
            text_column=text_column,
            label_column=label_column,
            text_pair_column=text_pair_column,
            label_separator=label_separator,
            group_column=group_column,
            encoding=encoding,
        )

    train = read(train_path)
    if dev_path is not None:
        dev = read(dev_path)
    else:
        train, dev = stratified_split(train, dev_fraction, seed=seed)
    test = read(test_path) if test_path is not None else None
    if max_examples is not None:
        capped = subsample_splits({"train": train, "dev": dev, "test": test}, max_examples, seed=seed)
        train, dev, test = capped["train"], capped["dev"], capped["test"]
    multi_label = label_separator is not None or any(len(example.labels) != 1 for example in train)
    return Dataset(
        name=Path(train_path).stem,
        task="multi_label" if multi_label else "single_label",
        label_names=sorted({label for example in train for label in example.labels}),
        train=train,
        dev=dev,
        test=test,
        metric=metric or default_metric(multi_label=multi_label, negative_label=negative_label),
        negative_label=negative_label,
    )


def default_metric(*, multi_label: bool, negative_label: str | None = None) -> str:
    """The metric a user's data is judged by when the user names none; the one place that choice is made.

    Single-label: macro-F1, class-balanced, because user data is rarely balanced and accuracy
    rewards a model that predicts only the majority class (:mod:`epee.tasks.degeneracy`); with a
    named ``negative_label``, micro-F1 over the other classes (the BLURB relation convention, where
    "no relation" earns nothing). Multi-label: micro-F1 over all (example, label) cells.
    """
    if multi_label:
        return "multilabel_micro_f1"
    return "macro_f1" if negative_label is None else "micro_f1_excluding_negative"
