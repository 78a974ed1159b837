"""Prediction over table files: rows in, one output row per input row, written atomically."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from epee.atomic import atomic_file
from epee.data.tabular import Row, read_rows
from epee.errors import EpeeError


@dataclass
class InputRows:
    texts: list[str]
    text_pairs: list[str | None] | None
    row_numbers: list[int]
    bad_rows: list[dict]


def read_input_rows(
    path: Path, *, text_column: str, text_pair_column: str | None, format: str | None, skip_bad_rows: bool
) -> InputRows:
    """Texts to predict; a bad row (missing column, empty text) stops with its number, or is set aside."""
    rows = read_rows(path, format=format)
    if not rows:
        raise EpeeError(f"{path} holds no rows to predict.")
    columns = [text_column] + ([text_pair_column] if text_pair_column else [])
    texts, pairs, numbers, bad = [], [], [], []
    for row in rows:
        problem = _problem(row, columns, text_column)
        if problem is None:
            texts.append(str(row.values[text_column]))
            pairs.append(str(row.values[text_pair_column]) if text_pair_column else None)
            numbers.append(row.number)
        elif skip_bad_rows:
            bad.append({"row": row.number, "line": row.line, "problem": problem, "values": row.values})
        else:
            raise EpeeError(f"{row.where(str(path))} {problem}; fix it or pass --skip-bad-rows.")
    if not texts:
        raise EpeeError(f"No row of {path} can be predicted; all {len(rows)} were bad.")
    return InputRows(texts, pairs if text_pair_column else None, numbers, bad)


def _problem(row: Row, columns: list[str], text_column: str) -> str | None:
    missing = [column for column in columns if column not in row.values]
    if missing:
        return f"has no column {missing[0]!r} (its columns are {list(row.values)})"
    value = row.values[text_column]
    if value is None or not str(value).strip():
        return f"has an empty {text_column!r}"
    return None


def _write_jsonl(stream: IO[str], records: Iterable[dict]) -> None:
    for record in records:
        stream.write(json.dumps(record) + "\n")


def _write_csv(stream: IO[str], records: Iterable[dict]) -> None:
    """Nested values (probabilities, label lists) become JSON inside their cell."""
    writer = None
    for record in records:
        flat = {key: json.dumps(value) if isinstance(value, dict | list) else value for key, value in record.items()}
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(flat))
            writer.writeheader()
        writer.writerow(flat)


WRITERS: dict[str, Callable[[IO[str], Iterable[dict]], None]] = {".jsonl": _write_jsonl, ".csv": _write_csv}
"""Output formats by file suffix; a new format registers its writer here."""
OUTPUT_FORMATS = tuple(WRITERS)


def write_atomically(path: Path, records: Iterable[dict]) -> None:
    """Write records in the format of ``path``'s suffix to a temporary file, then rename it into place.

    A failure or Ctrl-C leaves either the old file or none, never half of a new one.
    """
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise EpeeError(f"Output {path} must end in one of {OUTPUT_FORMATS}.")
    with atomic_file(path, newline="") as stream:
        writer(stream, records)
