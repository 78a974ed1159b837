"""UCI Drug Review (Druglib.com): rate a patient's review for effectiveness or side effects.

The TSVs are quoted (reviews hold newlines). Choices:

* text = the three free-text fields joined with their names, ``"Benefits: ...\\nSide effects:
  ...\\nComments: ..."``, so a model can tell which part speaks about what;
* ``target`` picks the label column, ``"effectiveness"`` (default) or ``"sideEffects"``; both have
  5 ordinal classes, listed in ``label_names`` from worst to best / none to worst;
* dev = a seeded split of ``dev_fraction`` (0.1) of train, stratified by the target; the official
  test file is the test split.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from epee.data.examples import Dataset, Example
from epee.data.sampling import stratified_split, subsample_splits
from epee.data.tabular import Row, read_rows, require_columns
from epee.errors import EpeeError

TARGET_LABELS = {
    "effectiveness": (
        "Ineffective",
        "Marginally Effective",
        "Moderately Effective",
        "Considerably Effective",
        "Highly Effective",
    ),
    "sideEffects": (
        "No Side Effects",
        "Mild Side Effects",
        "Moderate Side Effects",
        "Severe Side Effects",
        "Extremely Severe Side Effects",
    ),
}
REVIEW_FIELDS = (("Benefits", "benefitsReview"), ("Side effects", "sideEffectsReview"), ("Comments", "commentsReview"))
TRAIN_FILE, TEST_FILE = "drugLibTrain_raw.tsv", "drugLibTest_raw.tsv"


def load_druglib(
    folder: Path,
    *,
    target: str = "effectiveness",
    dev_fraction: float = 0.1,
    seed: int = 0,
    max_examples: int | Mapping[str, int] | None = None,
) -> Dataset:
    """Druglib reviews labelled by ``target``; see the module docstring for the text and the split."""
    if target not in TARGET_LABELS:
        raise EpeeError(f"Unknown druglib target {target!r}; choose one of {sorted(TARGET_LABELS)}.")
    train, dev = stratified_split(_reviews(folder / TRAIN_FILE, target), dev_fraction, seed=seed)
    test = _reviews(folder / TEST_FILE, target)
    return Dataset(
        name="druglib",
        task="single_label",
        label_names=list(TARGET_LABELS[target]),
        metric="macro_f1",
        **subsample_splits({"train": train, "dev": dev, "test": test}, max_examples, seed=seed),
    )


def _reviews(path: Path, target: str) -> list[Example]:
    rows = read_rows(path, format="tsv")
    require_columns(rows, (target, *(column for _, column in REVIEW_FIELDS)), str(path))
    return [Example(text=_review_text(row, str(path)), labels=(row.values[target].strip(),)) for row in rows]


def _review_text(row: Row, source: str) -> str:
    fields = [(name, row.values[column].replace("\r\n", "\n").strip()) for name, column in REVIEW_FIELDS]
    parts = [f"{name}: {value}" for name, value in fields if value]
    if not parts:
        raise EpeeError(f"{row.where(source)} has no review text in any of {[column for _, column in REVIEW_FIELDS]}.")
    return "\n".join(parts)
