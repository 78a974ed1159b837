"""Prediction over table files: rows in, one output row per input row, bad rows set aside beside the output."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO

from epee.atomic import atomic_file
from epee.data.tabular import (
    DEFAULT_ENCODING,
    Row,
    columns_text,
    iter_rows,
    optional_text,
    required_text,
    same_file,
)
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
    for part in (partial_path(output), partial_path(bad_rows_path(output))):
        if same_file(part, input):
            raise EpeeError(f"{input} has the name of this run's unfinished output {part}; rename the input.")


def partial_path(path: Path) -> Path:
    """Where a streaming run writes ``path`` until its last chunk is done (then it is renamed to ``path``)."""
    return path.with_name(path.name + ".partial")


def input_chunks(
    path: Path,
    *,
    text_column: str,
    text_pair_column: str | None,
    format: str | None,
    skip_bad_rows: bool,
    chunk_rows: int,
    encoding: str = DEFAULT_ENCODING,
    carried_columns: Sequence[str] = (),
) -> Iterator[InputRows]:
    """The texts to predict, ``chunk_rows`` records at a time (the last chunk may be shorter), read lazily.

    A bad row (missing column, empty or non-text cell) is set aside in its chunk's ``bad_rows`` with
    ``skip_bad_rows``, else it stops the run once its chunk is read. An empty or null text pair means "no
    pair", as in training. ``carried_columns`` must exist in every row; their values travel to the output
    as they are. ``--skip-bad-rows`` is suggested only when some rows read so far are good: when every row
    is bad (a column missing from the header), setting rows aside cannot help.
    """
    rows = iter_rows(path, format=format, encoding=encoding)  # checks the file now, reads it lazily
    columns = [text_column] + ([text_pair_column] if text_pair_column else []) + list(carried_columns)
    return _chunks(rows, path, columns, text_column, text_pair_column, skip_bad_rows, chunk_rows, carried_columns)


def _chunks(
    rows: Iterator[Row],
    path: Path,
    columns: list[str],
    text_column: str,
    text_pair_column: str | None,
    skip_bad_rows: bool,
    chunk_rows: int,
    carried_columns: Sequence[str],
) -> Iterator[InputRows]:
    records = good = 0
    first_problem = None
    while chunk := list(islice(rows, chunk_rows)):
        texts, pairs, numbers, carried, bad = [], [], [], [], []
        for row in chunk:
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
        records, good = records + len(chunk), good + len(texts)
        if bad and not skip_bad_rows:
            if not good:
                complete = len(chunk) < chunk_rows
                scope = f"all {records} are bad" if complete else f"all of the first {records} are bad"
                raise EpeeError(f"No row of {path} can be predicted, {scope}: {first_problem}")
            raise EpeeError(
                f"{first_problem} Or pass --skip-bad-rows to set such rows aside "
                f"({len(bad)} of the {records} rows read so far)."
            )
        yield InputRows(texts, pairs if text_pair_column else None, numbers, bad, carried)
    if not records:
        raise EpeeError(f"{path} holds no rows to predict.")
    if not good:
        raise EpeeError(f"No row of {path} can be predicted, all {records} are bad: {first_problem}")


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


def _write_jsonl(stream: IO[str], records: Iterable[dict], *, header: bool = True) -> None:
    for record in records:
        stream.write(json.dumps(record) + "\n")


def _write_csv(stream: IO[str], records: Iterable[dict], *, header: bool = True) -> None:
    """Nested values (probabilities, label lists) become JSON inside their cell; ``header=False`` continues a file."""
    writer = None
    for record in records:
        flat = {key: json.dumps(value) if isinstance(value, dict | list) else value for key, value in record.items()}
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(flat))
            if header:
                writer.writeheader()
        writer.writerow(flat)


WRITERS: dict[str, Callable[..., None]] = {".jsonl": _write_jsonl, ".csv": _write_csv}
"""Output formats by file suffix; a new format registers its writer here.

A writer is ``writer(stream, records, header=...)``: with ``header=False`` it continues a file that an
earlier call began, which is how a streaming run appends chunk after chunk."""
OUTPUT_FORMATS = tuple(WRITERS)


def write_atomically(path: Path, records: Iterable[dict]) -> None:
    """Write records in the format of ``path``'s suffix to a temporary file, then rename it into place.

    A failure or Ctrl-C leaves either the old file or none, never half of a new one.
    """
    writer = record_writer(path)
    with atomic_file(path, newline="") as stream:
        writer(stream, records)


def record_writer(path: Path) -> Callable[..., None]:
    """The writer for ``path``'s suffix, or an error listing the known ones."""
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise EpeeError(f"Output {path} must end in one of {OUTPUT_FORMATS}.")
    return writer


def encode_records(path: Path, records: Iterable[dict], *, header: bool) -> bytes:
    """Records as the bytes ``path``'s format would hold (UTF-8), for appending one chunk to a file."""
    buffer = io.StringIO(newline="")
    record_writer(path)(buffer, records, header=header)
    return buffer.getvalue().encode("utf-8")
