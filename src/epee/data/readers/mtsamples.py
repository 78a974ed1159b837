"""MTSamples transcriptions labelled with their medical specialty (one CSV, no official split).

Choices, since the corpus defines none:

* text = the ``transcription`` only (the ``description`` and ``keywords`` columns often name the
  specialty outright); notes with an empty transcription are dropped and counted in the log;
* ``top_k`` (default 10) keeps the notes of the k most frequent specialties. The other 30 classes
  have from 1 to about 100 notes, too few to learn or to score. ``top_k=None`` keeps all 40.
  The classes overlap (``Surgery`` vs. ``Orthopedic``; note types such as
  ``Consult - History and Phy.`` vs. specialties), so expect a modest ceiling;
* a seeded split stratified by specialty: ``test_fraction`` (0.2) of each class, then
  ``dev_fraction`` (0.1 of the whole) from the rest, i.e. 70/10/20.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from epee.data.examples import Dataset, Example
from epee.data.sampling import stratified_split, subsample_splits
from epee.data.tabular import read_rows, require_columns
from epee.errors import EpeeError

logger = logging.getLogger(__name__)

FILE_NAME = "mtsamples.csv"


def load_mtsamples(
    folder: Path,
    *,
    top_k: int | None = 10,
    dev_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    max_examples: int | Mapping[str, int] | None = None,
) -> Dataset:
    """Specialty classification of clinical notes; see the module docstring for the split."""
    if top_k is not None and top_k < 2:
        raise EpeeError(f"top_k must keep at least 2 specialties (or be None for all), got {top_k}.")
    if not (dev_fraction > 0 and test_fraction > 0 and dev_fraction + test_fraction < 1):
        raise EpeeError(
            f"dev_fraction ({dev_fraction}) and test_fraction ({test_fraction}) must be positive "
            f"and sum to less than 1."
        )
    path = folder / FILE_NAME
    rows = read_rows(path, format="csv")
    require_columns(rows, ("transcription", "medical_specialty"), str(path))
    notes = [
        Example(text=row.values["transcription"], labels=(row.values["medical_specialty"].strip(),))
        for row in rows
        if row.values["transcription"].strip()
    ]
    if len(notes) < len(rows):
        logger.info("MTSamples: dropped %d of %d notes with an empty transcription.", len(rows) - len(notes), len(rows))
    counts = Counter(note.labels[0] for note in notes)
    kept_specialties = sorted(counts, key=lambda name: (-counts[name], name))[:top_k]
    kept = [note for note in notes if note.labels[0] in kept_specialties]
    if len(kept) < len(notes):
        logger.info("MTSamples: kept the %d most frequent specialties, %d of %d notes.", top_k, len(kept), len(notes))
    rest, test = stratified_split(kept, test_fraction, seed=seed)
    train, dev = stratified_split(rest, dev_fraction / (1 - test_fraction), seed=seed)
    return Dataset(
        name="mtsamples",
        task="single_label",
        label_names=sorted(kept_specialties),
        metric="macro_f1",
        **subsample_splits({"train": train, "dev": dev, "test": test}, max_examples, seed=seed),
    )
