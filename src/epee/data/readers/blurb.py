"""HoC, ChemProt and DDI in their BLURB-style TSV files.

These files are raw: one record per line, no quoting, a ``"`` is part of the sentence. They are
therefore read with quoting disabled (see :mod:`epee.data.tabular`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from epee.data.examples import Dataset, Example
from epee.data.sampling import SPLIT_NAMES, subsample_splits
from epee.data.tabular import Row, read_rows, require_columns, required_text
from epee.errors import EpeeError

HOC_HALLMARKS = (
    "activating invasion and metastasis",
    "avoiding immune destruction",
    "cellular energetics",
    "enabling replicative immortality",
    "evading growth suppressors",
    "genomic instability and mutation",
    "inducing angiogenesis",
    "resisting cell death",
    "sustaining proliferative signaling",
    "tumor promoting inflammation",
)
"""The label index ``i`` of a HoC ``i_flag`` item names ``HOC_HALLMARKS[i]`` (alphabetical order)."""

CHEMPROT_LABELS = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", "False")
DDI_LABELS = ("DDI-false", "DDI-effect", "DDI-mechanism", "DDI-advise", "DDI-int")
DDI_COLUMNS = ("pair_id", "sentence", "label")


def load_hoc(folder: Path, *, max_examples: int | Mapping[str, int] | None = None, seed: int = 0) -> Dataset:
    """HoC sentences with their hallmarks (zero or more); ``group`` is the abstract's PMID.

    Subsets keep whole abstracts, because HoC is scored per abstract (sentence labels OR-ed per PMID).
    """
    splits = {name: _hoc_split(folder / f"{name}.tsv") for name in SPLIT_NAMES}
    splits = subsample_splits(splits, max_examples, seed=seed, whole_groups=True)
    return Dataset(name="hoc", task="multi_label", label_names=list(HOC_HALLMARKS), metric="hoc_abstract_f1", **splits)


def load_chemprot(folder: Path, *, max_examples: int | Mapping[str, int] | None = None, seed: int = 0) -> Dataset:
    """ChemProt chemical-protein relations, entities pre-masked as ``BC6ENTC`` / ``BC6ENTG``."""
    splits = {name: _sentence_split(folder / f"{name}.tsv", "sentence", "label") for name in SPLIT_NAMES}
    return Dataset(
        name="chemprot",
        task="single_label",
        label_names=list(CHEMPROT_LABELS),
        negative_label="False",
        metric="micro_f1_excluding_negative",
        **subsample_splits(splits, max_examples, seed=seed),
    )


def load_ddi(folder: Path, *, max_examples: int | Mapping[str, int] | None = None, seed: int = 0) -> Dataset:
    """DDI-2013 drug-drug interactions, both drugs masked as ``@DRUG$``; the files have no header."""
    splits = {
        name: _sentence_split(folder / f"{name}.tsv", "sentence", "label", column_names=DDI_COLUMNS)
        for name in SPLIT_NAMES
    }
    return Dataset(
        name="ddi",
        task="single_label",
        label_names=list(DDI_LABELS),
        negative_label="DDI-false",
        metric="micro_f1_excluding_negative",
        **subsample_splits(splits, max_examples, seed=seed),
    )


def _sentence_split(
    path: Path, text_column: str, label_column: str, column_names: Sequence[str] | None = None
) -> list[Example]:
    rows = read_rows(path, format="tsv", quoting=False, column_names=column_names)
    require_columns(rows, (text_column, label_column), str(path))
    return [
        Example(text=required_text(row, text_column, str(path)), labels=(row.values[label_column].strip(),))
        for row in rows
    ]


def _hoc_split(path: Path) -> list[Example]:
    rows = read_rows(path, format="tsv", quoting=False)
    require_columns(rows, ("labels", "sentence", "index"), str(path))
    return [
        Example(
            text=required_text(row, "sentence", str(path)),
            labels=_hoc_labels(row, str(path)),
            group=row.values["index"].rpartition("_")[0] or row.values["index"],
        )
        for row in rows
    ]


def _hoc_labels(row: Row, source: str) -> tuple[str, ...]:
    """``"0_0,1_1,...,9_0"`` -> the names of the hallmarks flagged 1."""
    labels = []
    for item in row.values["labels"].split(","):
        index, _, flag = item.strip().partition("_")
        if not (index.isdigit() and int(index) < len(HOC_HALLMARKS) and flag in ("0", "1")):
            raise EpeeError(
                f"{row.where(source)} has HoC labels {row.values['labels']!r}; expected comma-separated items "
                f"'index_flag' such as '3_1', with index 0-{len(HOC_HALLMARKS) - 1} and flag 0 or 1."
            )
        if flag == "1":
            labels.append(HOC_HALLMARKS[int(index)])
    return tuple(dict.fromkeys(labels))
