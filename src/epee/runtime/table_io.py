"""Prediction over table files: rows in, one output row per input row, bad rows set aside beside the output."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from epee.atomic import atomic_file
from epee.data.tabular import DEFAULT_ENCODING, Row, columns_text, optional_text, read_rows, required_text
from epee.errors import EpeeError
from epee.runtime.outputs import check_output_file


@dataclass
class InputRows:
    texts: list[str]
    text_pairs: list[str | None] | None
    row_numbers: list[int]
    bad_rows: list[dict]
    carried: list[dict]
    """Per row, the values of the columns carried to the output (``--id-column``, ``--keep-column``), unchanged."""


def bad_rows_path(output: Path) -> Path:
    """Where ``--skip-bad-rows`` sets rows aside: ``OUTPUT.bad.jsonl``, part of the output."""
    return output.with_name(output.name + ".bad.jsonl")


def check_prediction_outputs(output: Path, input: Path, *, overwrite: bool = False) -> None:
    """Before any inference: the predictions and their bad-rows file replace neither the input nor, without
    ``overwrite``, an earlier run's files."""
    check_output_file(output, OUTPUT_FORMATS, inputs=[input], overwrite=overwrite)
    check_output_file(
        bad_rows_path(output), OUTPUT_FORMATS, inputs=[input], overwrite=overwrite, option="The bad-rows file"
    )


def read_input_rows(
    path: Path,
    *,
    text_column: str,
    text_pair_column: str | None,
    format: str | None,
    skip_bad_rows: bool,
    encoding: str = DEFAULT_ENCODING,
    carried_columns: Sequence[str] = (),
) -> InputRows:
    """Texts to predict; a bad row (missing column, empty or non-text cell) stops with its number, or is set aside.

    An empty or null text pair means "no pair", as in training. ``carried_columns`` must exist in every
    row; their values travel to the output as they are. ``--skip-bad-rows`` is suggested only when some
    rows are good: when every row is bad (a column missing from the header), setting rows aside cannot help.
    """
    rows = read_rows(path, format=format, encoding=encoding)
    if not rows:
        raise EpeeError(f"{path} holds no rows to predict.")
    columns = [text_column] + ([text_pair_column] if text_pair_column else []) + list(carried_columns)
    texts, pairs, numbers, carried, bad = [], [], [], [], []
    first_problem = None
    for row in rows:
        try:
            text, pair = _texts(row, columns, text_column, text_pair_column, str(path))
        except EpeeError as problem:
            first_problem = first_problem or str(problem)
            bad.append({"row": row.number, "line": row.line, "problem": str(problem), "values": row.values})
            continue
        texts.append(text)
        pairs.append(pair)
        numbers.append(row.number)
        carried.append({column: row.values[column] for column in carried_columns})
    if not texts:
        raise EpeeError(f"No row of {path} can be predicted, all {len(rows)} are bad: {first_problem}")
    if bad and not skip_bad_rows:
        raise EpeeError(f"{first_problem} Or pass --skip-bad-rows to set such rows aside ({len(bad)} of {len(rows)}).")
    return InputRows(texts, pairs if text_pair_column else None, numbers, bad, carried)


def _texts(
    row: Row, columns: list[str], text_column: str, text_pair_column: str | None, source: str
) -> tuple[str, str | None]:
    missing = [column for column in columns if column not in row.values]
    if missing:
        raise EpeeError(
            f"{row.where(source)} has no column {missing[0]!r}; its columns are {columns_text(list(row.values))}."
        )
    pair = optional_text(row, text_pair_column, source) if text_pair_column else None
    return required_text(row, text_column, source), pair


def write_bad_rows(output: Path, bad_rows: list[dict]) -> Path | None:
    """Write the rows set aside beside ``output``, or remove a stale file from an earlier run when there are none."""
    path = bad_rows_path(output)
    if bad_rows:
        write_atomically(path, bad_rows)
        return path
    path.unlink(missing_ok=True)
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
