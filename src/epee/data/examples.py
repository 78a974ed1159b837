"""The records every reader produces, and the checks that keep a bad file from reaching training.

Readers differ in formats; everything after them sees only :class:`Example` (text, optional pair,
labels as names) or :class:`ImageExample`, bundled in a validated :class:`Dataset`. Labels stay
names here, not ids: the fixed ``label_names`` order of the dataset is what turns them into ids later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from epee.errors import EpeeError

TASKS = ("single_label", "multi_label")


@dataclass(frozen=True)
class Example:
    """One text (or text pair) with its label names.

    ``labels`` holds exactly one name for single-label tasks and zero or more for multi-label tasks.
    ``group`` ties examples that are scored together, e.g. the PMID of a HoC sentence, because
    BLURB scores HoC per abstract.
    """

    text: str
    labels: tuple[str, ...]
    text_pair: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        # Accept any sequence of names (a list from JSON, say) but store an immutable tuple.
        object.__setattr__(self, "labels", tuple(self.labels))


@dataclass(frozen=True, eq=False)
class ImageExample:
    """One uint8 image with its label names: grayscale ``[height, width]`` or RGB ``[height, width, 3]``."""

    image: np.ndarray = field(repr=False)
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        shape = self.image.shape
        if self.image.dtype != np.uint8 or not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)):
            raise EpeeError(
                f"An image example needs a uint8 array [height, width] (grayscale) or [height, width, 3] (RGB), "
                f"got shape {shape} and dtype {self.image.dtype}."
            )
        if min(shape[:2]) < 1:
            raise EpeeError(f"An image example needs at least one pixel, got shape {shape}.")

    @property
    def is_rgb(self) -> bool:
        return self.image.ndim == 3


AnyExample = Example | ImageExample


@dataclass
class Dataset:
    """The splits of one task, their fixed label order and the metric the task is judged by.

    ``negative_label`` is the "no relation" class that micro-F1 leaves out (ChemProt's ``False``,
    DDI's ``DDI-false``); ``positive_label`` the class that ``f1_positive`` scores. ``special_tokens`` are
    marker strings that readers inserted into the text and that a tokenizer must learn as whole tokens
    (see :mod:`epee.data.markers`).
    Construction validates everything, so a dataset that exists is one a model can train on.
    """

    name: str
    task: str
    label_names: list[str]
    train: list[AnyExample]
    dev: list[AnyExample] | None
    test: list[AnyExample] | None
    metric: str
    negative_label: str | None = None
    special_tokens: tuple[str, ...] = ()
    positive_label: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise EpeeError(f"Dataset {self.name!r} has task {self.task!r}; choose one of {TASKS}.")
        if len(set(self.label_names)) < 2:
            raise EpeeError(
                f"Dataset {self.name!r} has fewer than 2 classes ({self.label_names}); a classifier needs at least two."
            )
        if len(set(self.label_names)) != len(self.label_names):
            raise EpeeError(f"Dataset {self.name!r} lists a label twice in label_names {self.label_names}.")
        for role, label in (("Negative", self.negative_label), ("Positive", self.positive_label)):
            if label is not None and label not in self.label_names:
                raise EpeeError(
                    f"{role} label {label!r} of dataset {self.name!r} is not among its labels {self.label_names}; "
                    f"name one of them with --{role.lower()}-label."
                )
        if not self.train:
            raise EpeeError(f"Dataset {self.name!r} has an empty train split.")
        self._check_split("train", self.train, allowed=set(self.label_names))
        seen_in_train = {label for example in self.train for label in example.labels}
        for split_name in ("dev", "test"):
            self._check_split(split_name, getattr(self, split_name) or [], allowed=seen_in_train)

    def splits(self) -> dict[str, list[AnyExample]]:
        """The splits that exist, by name, in the order train, dev, test."""
        named = {"train": self.train, "dev": self.dev, "test": self.test}
        return {name: examples for name, examples in named.items() if examples is not None}

    def _check_split(self, split_name: str, examples: Sequence[AnyExample], allowed: set[str]) -> None:
        """Texts present, one label per single-label example, every label in ``allowed``
        (``label_names`` for train; the labels seen in train for dev and test)."""
        for position, example in enumerate(examples):
            where = f"Example {position} of the {split_name} split of dataset {self.name!r}"
            if isinstance(example, Example) and not example.text.strip():
                raise EpeeError(f"{where} has an empty text.")
            if self.task == "single_label" and len(example.labels) != 1:
                raise EpeeError(
                    f"{where} has {len(example.labels)} labels {example.labels}, but the task is single-label."
                )
            for label in example.labels:
                if label in allowed:
                    continue
                if split_name == "train":
                    raise EpeeError(f"{where} has label {label!r}, which is not among the labels {self.label_names}.")
                raise EpeeError(
                    f"Label {label!r} appears in the {split_name} split of dataset {self.name!r} but never in train, "
                    f"so no model can learn it (if train was subsampled with max_examples, keep more)."
                )


def with_label_order(dataset: Dataset, label_names: Sequence[str]) -> Dataset:
    """``dataset`` with its labels in a model's order, so label ids and metrics mean the same thing.

    A model trained elsewhere may list the same labels in another order; a different set is an error.
    """
    if set(label_names) != set(dataset.label_names):
        missing = sorted(set(dataset.label_names) - set(label_names))
        extra = sorted(set(label_names) - set(dataset.label_names))
        raise EpeeError(
            f"The model's labels do not match dataset {dataset.name!r}: the data has {missing} that the model lacks "
            f"and the model has {extra} that the data lacks."
        )
    return replace(dataset, label_names=list(label_names))
