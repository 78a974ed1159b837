"""How a dataset was made — a registered name or the user's files, columns, seed, subsampling — so the
same splits can be rebuilt later.

Every checkpoint records the recipe it was trained on. ``calibrate``, ``evaluate`` and ``report``
rebuild the data from it by default, so thresholds are chosen on the model's own dev split; an
option given on the command line overrides one field of it. Before a different recipe is used, its
dev rows are checked against the recorded training rows: "select on dev" must never select on rows
the model learnt from.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from epee.data.examples import AnyExample, Dataset, Example
from epee.data.registry import load_dataset
from epee.data.tabular import DEFAULT_ENCODING
from epee.data.user_files import dataset_from_files
from epee.errors import EpeeError

logger = logging.getLogger(__name__)

DEFAULT_SEED = 42


@dataclass(frozen=True)
class DataRecipe:
    """Where the examples come from and how they were split. Paths are stored absolute."""

    dataset: str | None = None
    data: str | None = None
    dev: str | None = None
    test: str | None = None
    format: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    text_pair_column: str | None = None
    label_separator: str | None = None
    split_column: str | None = None
    data_dir: str | None = None
    max_examples: int | None = None
    seed: int = DEFAULT_SEED
    encoding: str = DEFAULT_ENCODING
    metric: str | None = None
    positive_label: str | None = None
    negative_label: str | None = None

    def __post_init__(self) -> None:
        if self.max_examples is not None and (isinstance(self.max_examples, bool) or self.max_examples < 1):
            raise EpeeError(f"--max-examples must be a positive number of examples, got {self.max_examples}.")
        for name in ("data", "dev", "test", "data_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(Path(value).expanduser().resolve()))

    @property
    def source(self) -> str | None:
        """The registered dataset or the training file: what ``--dataset`` / ``--data`` named."""
        return self.dataset or self.data

    def with_overrides(self, overrides: Mapping[str, Any]) -> DataRecipe:
        """This recipe with the options a user gave (``None`` = not given) in place of the recorded ones.

        Naming a new source (``--dataset`` or ``--data``) drops the other kind of source; naming a
        ``--metric`` drops the recorded classes of the old one (``--positive-label``, ``--negative-label``).
        """
        given = {name: value for name, value in overrides.items() if value is not None}
        if "metric" in given:
            given.setdefault("positive_label", None)
            given.setdefault("negative_label", None)
        if "dataset" in given:
            given.setdefault("data", None)
            given.setdefault("split_column", None)
        if "data" in given:
            given.setdefault("dataset", None)
        return replace(self, **given)

    def load(self) -> Dataset:
        if (self.dataset is None) == (self.data is None):
            raise EpeeError("Give exactly one of --dataset NAME (a registered dataset) or --data FILE (your own file).")
        if self.dataset is not None:
            if self.split_column is not None:
                raise EpeeError(
                    f"--split-column applies to your own --data file; the registered dataset {self.dataset!r} "
                    "comes with its splits. Leave it out."
                )
            judged = [option for option, value in self._metric_options().items() if value is not None]
            if judged:
                raise EpeeError(
                    f"{judged[0]} applies to your own files; the registered dataset {self.dataset!r} is judged by its "
                    "benchmark's metric. Leave it out."
                )
            options = {"max_examples": self.max_examples} if self.max_examples is not None else {}
            return load_dataset(self.dataset, self.data_dir, seed=self.seed, **options)
        return dataset_from_files(
            self.data,
            dev_path=self.dev,
            test_path=self.test,
            format=self.format,
            text_column=self.text_column,
            label_column=self.label_column,
            text_pair_column=self.text_pair_column,
            label_separator=self.label_separator,
            split_column=self.split_column,
            seed=self.seed,
            max_examples=self.max_examples,
            encoding=self.encoding,
            metric=self.metric,
            positive_label=self.positive_label,
            negative_label=self.negative_label,
        )

    def _metric_options(self) -> dict[str, str | None]:
        return {
            "--metric": self.metric,
            "--positive-label": self.positive_label,
            "--negative-label": self.negative_label,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DataRecipe:
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise EpeeError(f"The data recipe has settings this version of epee does not know: {unknown}.")
        return cls(**values)


def example_key(example: AnyExample) -> str:
    """A digest of an example's input (never its text): equal inputs give equal keys."""
    digest = hashlib.sha256()
    if isinstance(example, Example):
        digest.update(example.text.encode())
        digest.update(b"\x00" + (example.text_pair or "").encode())
    else:
        digest.update(example.image.tobytes())
    return digest.hexdigest()


def check_dev_is_unseen(recorded: DataRecipe, dataset: Dataset, recipe: DataRecipe) -> None:
    """Refuse ``dataset``'s dev split when it holds rows the model was trained on under ``recorded``.

    Only needed when ``recipe`` differs from the recorded one (the recorded recipe rebuilds the very
    split the model was trained and selected on). When the recorded training files are gone the
    check cannot run; that is said in the log.
    """
    if recipe == recorded or not dataset.dev:
        return
    try:
        trained_on = {example_key(example) for example in recorded.load().train}
    except (EpeeError, OSError):
        logger.warning("The checkpoint's training data can no longer be read; dev rows cannot be checked against it.")
        return
    seen = sum(example_key(example) in trained_on for example in dataset.dev)
    if seen:
        raise EpeeError(
            f"{seen} of the {len(dataset.dev)} dev rows were training rows of this checkpoint (it was trained on "
            f"{recorded.source} with seed {recorded.seed}, max examples {recorded.max_examples}); choosing on them "
            "would not be choosing on dev. Leave out the data options to use the recorded split, or pass --dev FILE."
        )
