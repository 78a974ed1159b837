"""PneumoniaMNIST (MedMNIST v2): 28x28 chest X-rays, normal vs. pneumonia, in one ``.npz``.

The official train/val/test splits become train/dev/test. The headline metric is balanced
accuracy: the classes are imbalanced (74% pneumonia in train, 63% in test), so accuracy rewards a
model that always says "pneumonia", and calibration scores hard predictions, on which balanced
accuracy equals ROC AUC. AUC from scores, MedMNIST's other figure, is
:func:`epee.tasks.metrics.binary_auc`; accuracy is shown beside both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from epee.data.examples import Dataset, ImageExample
from epee.data.sampling import subsample_splits
from epee.errors import EpeeError

FILE_NAME = "pneumoniamnist.npz"
LABELS = ("normal", "pneumonia")  # MedMNIST: 0 = normal, 1 = pneumonia
SPLIT_PREFIXES = {"train": "train", "dev": "val", "test": "test"}


def load_pneumoniamnist(folder: Path, *, max_examples: int | Mapping[str, int] | None = None, seed: int = 0) -> Dataset:
    """The three official splits as image examples labelled ``normal`` / ``pneumonia``."""
    path = folder / FILE_NAME
    if not path.is_file():
        raise EpeeError(f"PneumoniaMNIST file {path} does not exist.")
    with np.load(path) as arrays:
        expected = [f"{prefix}_{kind}" for prefix in SPLIT_PREFIXES.values() for kind in ("images", "labels")]
        missing = [key for key in expected if key not in arrays.files]
        if missing:
            raise EpeeError(f"{path} lacks the MedMNIST arrays {missing}; it holds {arrays.files}.")
        splits = {
            split: _images(arrays[f"{prefix}_images"], arrays[f"{prefix}_labels"], f"{path}:{prefix}")
            for split, prefix in SPLIT_PREFIXES.items()
        }
    return Dataset(
        name="pneumoniamnist",
        task="single_label",
        label_names=list(LABELS),
        metric="balanced_accuracy",
        **subsample_splits(splits, max_examples, seed=seed),
    )


def _images(images: np.ndarray, labels: np.ndarray, source: str) -> list[ImageExample]:
    labels = labels.reshape(-1)  # [N, 1] in MedMNIST
    if len(images) != len(labels):
        raise EpeeError(f"{source} has {len(images)} images but {len(labels)} labels.")
    unknown = sorted(set(np.unique(labels).tolist()) - set(range(len(LABELS))))
    if unknown:
        raise EpeeError(f"{source} has label values {unknown}; PneumoniaMNIST uses 0 (normal) and 1 (pneumonia).")
    return [
        ImageExample(image=image, labels=(LABELS[label],)) for image, label in zip(images, labels.tolist(), strict=True)
    ]
