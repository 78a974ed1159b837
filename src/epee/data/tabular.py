"""Rows from CSV, TSV, JSON and JSON-lines files, and user tables turned into examples.

Two readings of tab-separated files exist in the wild and both are needed: spreadsheet-style
files quote fields that hold tabs or newlines (Druglib), while BLURB-style benchmark files are
raw, one record per line, where a ``"`` is just a character (HoC, ChemProt, DDI). Reading a raw
file with quoting on silently glues records together, so the caller says which one it has.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from epee.data.examples import Example
from epee.errors import EpeeError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "json"}


class Row(NamedTuple):
    """One record, its 1-based number among the records and the line where it starts, for errors."""

    number: int
    line: int | None  # None for the items of a JSON array, which has no line per record
    values: dict[str, Any]

    def where(self, source: str) -> str:
        """Names the record for an error message, e.g. ``Row 3 (line 5) of train.csv``."""
        line = "" if self.line is None else f" (line {self.line})"
        return f"Row {self.number}{line} of {source}"


def infer_format(path: Path, format: str | None = None) -> str:
    """The format name from ``format`` or the file suffix, or an error listing the known ones."""
    known = sorted(set(FORMATS.values()))
    if format is None:
        if path.suffix.lower() not in FORMATS:
            raise EpeeError(
                f"Cannot tell the format of {path} from its suffix {path.suffix!r}; pass format= one of {known}."
            )
        return FORMATS[path.suffix.lower()]
    if format not in known:
        raise EpeeError(f"Unknown table format {format!r}; choose one of {known}.")
    return format


def read_rows(
    path: str | Path,
    *,
    format: str | None = None,
    quoting: bool = True,
    column_names: Sequence[str] | None = None,
) -> list[Row]:
    """Every record of a CSV/TSV/JSON/JSON-lines file, with its line number.

    ``quoting=False`` reads delimited files raw (one record per line, no quote handling).
    ``column_names`` names the columns of a delimited file that has no header row.
    """
    path = Path(path)
    if not path.is_file():
        raise EpeeError(f"Table file {path} does not exist.")
    file_format = infer_format(path, format)
    # Raw files end records at "\n" only (ChemProt has CRLF endings); the csv module wants newline="".
    newline = "\n" if file_format in ("csv", "tsv") and not quoting else ""
    with path.open(encoding="utf-8-sig", newline=newline) as stream:
        return parse_rows(stream, format=file_format, source=str(path), quoting=quoting, column_names=column_names)


def parse_rows(
    stream: io.TextIOBase,
    *,
    format: str,
    source: str,
    quoting: bool = True,
    column_names: Sequence[str] | None = None,
) -> list[Row]:
    """Like :func:`read_rows`, for an open text stream such as a zip member; ``source`` names it in errors."""
    if format in ("csv", "tsv"):
        delimiter = "," if format == "csv" else "\t"
        if quoting:
            return _quoted_rows(stream, delimiter, source, column_names)
        return _raw_rows(stream, delimiter, source, column_names)
    if format == "jsonl":
        return _json_lines(stream, source)
    if format == "json":
        return _json_document(stream, source)
    raise EpeeError(f"Unknown table format {format!r}; choose one of {sorted(set(FORMATS.values()))}.")


def _quoted_rows(stream: Iterable[str], delimiter: str, source: str, column_names: Sequence[str] | None) -> list[Row]:
    # Clinical notes easily exceed the csv module's default 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(stream, delimiter=delimiter)
    header = list(column_names) if column_names is not None else next(reader, None)
    if header is None:
        raise EpeeError(f"{source} is empty; expected a header row.")
    rows = []
    start_line = reader.line_num + 1
    for fields in reader:
        if fields:
            rows.append(Row(len(rows) + 1, start_line, _zip_fields(header, fields, source, start_line)))
        start_line = reader.line_num + 1
    return rows


def _raw_rows(stream: Iterable[str], delimiter: str, source: str, column_names: Sequence[str] | None) -> list[Row]:
    lines = (line.rstrip("\r\n") for line in stream)
    if column_names is not None:
        header, first_line = list(column_names), 1
    else:
        header_line = next(lines, None)
        if header_line is None:
            raise EpeeError(f"{source} is empty; expected a header row.")
        header, first_line = header_line.split(delimiter), 2
    rows: list[Row] = []
    for line_number, line in enumerate(lines, start=first_line):
        if line:
            values = _zip_fields(header, line.split(delimiter), source, line_number)
            rows.append(Row(len(rows) + 1, line_number, values))
    return rows


def _zip_fields(header: Sequence[str], fields: Sequence[str], source: str, line: int) -> dict[str, str]:
    if len(fields) != len(header):
        raise EpeeError(
            f"Line {line} of {source} has {len(fields)} fields but the header has {len(header)} ({list(header)}); "
            f"check the delimiter and whether the file is quoted."
        )
    return dict(zip(header, fields, strict=True))


def _json_lines(stream: Iterable[str], source: str) -> list[Row]:
    rows = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise EpeeError(f"Line {number} of {source} is not valid JSON ({error.msg}).") from None
        if not isinstance(record, dict):
            raise EpeeError(f"Line {number} of {source} holds a {type(record).__name__}, not a JSON object.")
        rows.append(Row(len(rows) + 1, number, record))
    return rows


def _json_document(stream: io.TextIOBase, source: str) -> list[Row]:
    """A ``.json`` file holds either one array of objects or, as PHEE ships it, JSON lines."""
    text = stream.read()
    if not text.lstrip().startswith("["):
        return _json_lines(io.StringIO(text), source)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise EpeeError(f"{source} is not valid JSON (line {error.lineno}: {error.msg}).") from None
    rows = []
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise EpeeError(f"Item {position} of the array in {source} is a {type(record).__name__}, not an object.")
        rows.append(Row(position + 1, None, record))
    return rows


def require_columns(rows: Sequence[Row], columns: Iterable[str | None], source: str) -> None:
    """Fail with the list of columns that do exist when a needed column is missing from a row."""
    for row in rows:
        missing = [column for column in columns if column is not None and column not in row.values]
        if missing:
            raise EpeeError(
                f"Column {missing[0]!r} is missing from {row.where(source)}; the columns there are {list(row.values)}."
            )


def required_text(row: Row, column: str, source: str) -> str:
    """The text in ``column``, or an error naming the row when it is empty (a model cannot read nothing)."""
    text = _as_text(row.values[column])
    if not text.strip():
        raise EpeeError(f"{row.where(source)} has an empty {column!r}; fill it in or remove the record.")
    return text


def read_table(
    path: str | Path,
    *,
    text_column: str,
    label_column: str,
    format: str | None = None,
    text_pair_column: str | None = None,
    label_separator: str | None = None,
    group_column: str | None = None,
) -> list[Example]:
    """Examples from a user's CSV/TSV/JSON-lines/JSON table.

    The task is multi-label when ``label_separator`` is given (``"a;b"`` -> ``("a", "b")``, an empty
    cell -> no labels) or when a JSON label value is a list; otherwise each row has exactly one label.
    Delimited files are read with standard quoting, so quoted fields may hold newlines.
    """
    path = Path(path)
    rows = read_rows(path, format=format)
    require_columns(rows, (text_column, label_column, text_pair_column, group_column), str(path))
    examples = []
    for row in rows:
        examples.append(
            Example(
                text=required_text(row, text_column, str(path)),
                labels=_labels(row.values[label_column], label_separator, row.where(str(path)), label_column),
                text_pair=(_as_text(row.values[text_pair_column]) or None) if text_pair_column else None,
                group=_as_text(row.values[group_column]) if group_column else None,
            )
        )
    return examples


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def _labels(value: Any, separator: str | None, where: str, column: str) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(label).strip() for label in value)
    text = _as_text(value).strip()
    if separator is not None:
        return tuple(label.strip() for label in text.split(separator) if label.strip())
    if not text:
        raise EpeeError(f"{where} has an empty label in {column!r}; every row of a single-label table needs one.")
    return (text,)
