"""Rows from CSV, TSV, JSON, JSON-lines and Parquet files, and user tables turned into examples.

Two readings of tab-separated files exist in the wild and both are needed: spreadsheet-style
files quote fields that hold tabs or newlines (Druglib), while BLURB-style benchmark files are
raw, one record per line, where a ``"`` is just a character (HoC, ChemProt, DDI). Reading a raw
file with quoting on silently glues records together, so the caller says which one it has.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from epee.data.examples import Example
from epee.errors import EpeeError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}
DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, skipping the byte-order mark spreadsheet programs write
MISSING_VALUE_MARKERS = ("nan",)
"""Label cells that a data frame or script wrote for a missing value; they must never become a class.
("none" and "null" stay allowed: relation datasets name their negative class so.)"""
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,39}")


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
                f"Cannot tell the format of {path} from its suffix {path.suffix!r}; pass --format with one of {known}."
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
    encoding: str = DEFAULT_ENCODING,
) -> list[Row]:
    """Every record of a CSV/TSV/JSON/JSON-lines/Parquet file, with its line number.

    ``quoting=False`` reads delimited files raw (one record per line, no quote handling).
    ``column_names`` names the columns of a delimited file that has no header row.
    ``encoding`` is the file's text encoding (UTF-8, with or without a byte-order mark, by default).
    """
    return list(iter_rows(path, format=format, quoting=quoting, column_names=column_names, encoding=encoding))


def iter_rows(
    path: str | Path,
    *,
    format: str | None = None,
    quoting: bool = True,
    column_names: Sequence[str] | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> Iterator[Row]:
    """The records of :func:`read_rows` one at a time, so a file of millions of rows is never held whole.

    The file is checked (exists, known format and encoding) before the first record is asked for;
    a ``.json`` array is the one layout that must be parsed whole.
    """
    path = Path(path)
    require_regular_file(path, "Table file")
    file_format = infer_format(path, format)
    _check_encoding(encoding)
    if file_format == "parquet":
        return _parquet_rows(path)
    return _iter_text_rows(path, file_format, quoting, column_names, encoding)


def _parquet_rows(path: Path) -> Iterator[Row]:
    from epee.data.parquet import open_parquet

    columns, records = open_parquet(path)
    check_header(columns, str(path))
    for number, values in enumerate(records, start=1):
        yield Row(number, None, values)


def _iter_text_rows(
    path: Path, file_format: str, quoting: bool, column_names: Sequence[str] | None, encoding: str
) -> Iterator[Row]:
    # Raw files end records at "\n" only (ChemProt has CRLF endings); the csv module wants newline="".
    newline = "\n" if file_format in ("csv", "tsv") and not quoting else ""
    try:
        with path.open(encoding=encoding, newline=newline) as stream:
            yield from iter_parsed_rows(
                stream, format=file_format, source=str(path), quoting=quoting, column_names=column_names
            )
    except UnicodeDecodeError as error:
        raise EpeeError(_decode_error_message(path, encoding, error)) from None


def require_regular_file(path: Path, what: str) -> None:
    """Fail with what ``path`` is instead when it is not a readable regular file (missing, a folder, a FIFO)."""
    if path.is_file():
        return
    if path.is_dir():
        raise EpeeError(f"{what} {path} is a directory, not a file; give the path of the file inside it.")
    if path.exists():
        raise EpeeError(f"{what} {path} is not a regular file (a FIFO, socket or device); give a file on disk.")
    raise EpeeError(f"{what} {path} does not exist.")


def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file (through links, ``..`` or a different spelling)."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist yet
        return Path(first).resolve() == Path(second).resolve()


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise EpeeError(f"Unknown text encoding {encoding!r}; use a name such as utf-8, latin-1 or cp1252.") from None


def _decode_error_message(path: Path, encoding: str, error: UnicodeDecodeError) -> str:
    """Where the first undecodable byte is (line and byte column), found by decoding the whole file again."""
    raw = path.read_bytes()
    try:
        raw.decode(encoding)
        position = None
    except UnicodeDecodeError as full_error:
        position = full_error.start
    where = ""
    if position is not None:
        line = raw.count(b"\n", 0, position) + 1
        byte = position - (raw.rfind(b"\n", 0, position) + 1) + 1
        where = f" at line {line}, byte {byte} of that line"
    name = "UTF-8" if codecs.lookup(encoding).name.startswith("utf-8") else encoding
    return (
        f"{path} is not valid {name} text{where} ({error.reason}); pass its encoding with --encoding "
        f"(for example --encoding latin-1 or cp1252), or save the file as UTF-8."
    )


def parse_rows(
    stream: io.TextIOBase,
    *,
    format: str,
    source: str,
    quoting: bool = True,
    column_names: Sequence[str] | None = None,
) -> list[Row]:
    """Like :func:`read_rows`, for an open text stream such as a zip member; ``source`` names it in errors."""
    return list(iter_parsed_rows(stream, format=format, source=source, quoting=quoting, column_names=column_names))


def iter_parsed_rows(
    stream: io.TextIOBase,
    *,
    format: str,
    source: str,
    quoting: bool = True,
    column_names: Sequence[str] | None = None,
) -> Iterator[Row]:
    """The records of :func:`parse_rows` one at a time."""
    if format in ("csv", "tsv"):
        delimiter = "," if format == "csv" else "\t"
        if quoting:
            return _quoted_rows(stream, delimiter, source, column_names)
        return _raw_rows(stream, delimiter, source, column_names)
    if format == "jsonl":
        return _json_lines(stream, source)
    if format == "json":
        return iter(_json_document(stream, source))
    raise EpeeError(f"Unknown table format {format!r}; choose one of {sorted(set(FORMATS.values()))}.")


def _quoted_rows(
    stream: Iterable[str], delimiter: str, source: str, column_names: Sequence[str] | None
) -> Iterator[Row]:
    """Strict quoted CSV/TSV: a stray or unterminated quote is an error naming line and column, never a
    record that silently swallows the rest of the file."""
    # Clinical notes easily exceed the csv module's default 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    lines = _RecordLines(stream)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header: list[str] | None = list(column_names) if column_names is not None else None
    count = 0
    start_line = 1
    try:
        if header is None:
            header = next(reader, None)
            if header is None:
                raise EpeeError(f"{source} is empty; expected a header row.")
            check_header(header, source)
        start_line = reader.line_num + 1
        lines.start_record()
        for fields in reader:
            if fields:
                count += 1
                yield Row(count, start_line, _zip_fields(header, fields, source, start_line))
            start_line = reader.line_num + 1
            lines.start_record()
    except csv.Error as error:
        raise EpeeError(_quote_error_message(lines.record, delimiter, header, source, start_line, error)) from None


class _RecordLines:
    """The physical lines fed to ``csv.reader``, keeping those of the record being parsed for error messages."""

    def __init__(self, stream: Iterable[str]):
        self._lines = iter(stream)
        self.record: list[str] = []

    def __iter__(self) -> _RecordLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.record.append(line)
        return line

    def start_record(self) -> None:
        self.record = []


def _quote_error_message(
    record_lines: Sequence[str], delimiter: str, header: Sequence[str] | None, source: str, start_line: int, error
) -> str:
    """Line and column of the quote that broke a record, without quoting any of the record's text."""
    line, field = _unbalanced_quote(record_lines, delimiter, start_line)
    column = f"column {field + 1}"
    if header is not None and field < len(header):
        column += f" ({describe_columns([header[field]])[0]})"
    if "end of data" in str(error):
        problem = "is never closed, so the rest of the file would become one cell"
    else:
        problem = "closes and is followed by more text in the same cell"
    return (
        f"Line {line} of {source}, {column}: the quoted cell that starts there {problem}. Double a quote that is "
        f'part of the text ("") or quote the whole cell.'
    )


def _unbalanced_quote(record_lines: Sequence[str], delimiter: str, start_line: int) -> tuple[int, int]:
    """(line, 0-based field) where the quoted cell that broke a record begins, scanning as RFC 4180 reads."""
    quoted, after_close, at_field_start, field = False, False, True, 0
    opened = (start_line, 0)
    for offset, text in enumerate(record_lines):
        position = 0
        while position < len(text):
            character = text[position]
            position += 1
            if quoted:
                if character == '"' and text[position : position + 1] == '"':
                    position += 1  # an escaped quote inside the cell
                elif character == '"':
                    quoted, after_close = False, True
                continue
            if after_close and character not in (delimiter, "\r", "\n"):
                return opened  # text after the closing quote of the cell that began at ``opened``
            after_close = False
            if character == '"' and at_field_start:
                quoted, opened = True, (start_line + offset, field)
            elif character == delimiter:
                field += 1
            at_field_start = character in (delimiter, "\r", "\n")
    return opened


def check_header(header: Sequence[str], source: str) -> None:
    """Refuse a header that names a column twice: which of the two a reader would use is arbitrary."""
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in seen:
            raise EpeeError(
                f"{source} has two columns named {describe_columns([name])[0]} (columns {seen[name] + 1} and "
                f"{position + 1}); rename one so that every column name is unique."
            )
        seen[name] = position


def describe_columns(names: Sequence[object]) -> list[str]:
    """Column names safe to print: identifier-like names are shown, anything else only by its length.

    A file without a header row makes its first record the "header", and that record is patient text;
    an error message must not print it.
    """
    described = []
    for name in names:
        text = str(name)
        described.append(repr(text) if _COLUMN_NAME.fullmatch(text) else f"<a {len(text)}-character name>")
    return described


def columns_text(names: Sequence[object]) -> str:
    """The columns a record has, for an error message: names safe to print (:func:`describe_columns`)."""
    shown = describe_columns(names)
    text = "[" + ", ".join(shown) + "]"
    if any(part.startswith("<") for part in shown):
        text += " (names that do not look like column names are not printed: is the header row missing?)"
    return text


def _raw_rows(stream: Iterable[str], delimiter: str, source: str, column_names: Sequence[str] | None) -> Iterator[Row]:
    lines = (line.rstrip("\r\n") for line in stream)
    if column_names is not None:
        header, first_line = list(column_names), 1
    else:
        header_line = next(lines, None)
        if header_line is None:
            raise EpeeError(f"{source} is empty; expected a header row.")
        header, first_line = header_line.split(delimiter), 2
        check_header(header, source)
    count = 0
    for line_number, line in enumerate(lines, start=first_line):
        if line:
            count += 1
            yield Row(count, line_number, _zip_fields(header, line.split(delimiter), source, line_number))


def _zip_fields(header: Sequence[str], fields: Sequence[str], source: str, line: int) -> dict[str, str]:
    if len(fields) != len(header):
        raise EpeeError(
            f"Line {line} of {source} has {len(fields)} fields but the header has {len(header)} "
            f"{columns_text(header)}; check the delimiter and whether the file is quoted."
        )
    return dict(zip(header, fields, strict=True))


def _json_lines(stream: Iterable[str], source: str) -> Iterator[Row]:
    count = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as error:
            raise EpeeError(
                f"Line {number} of {source} is not valid JSON ({error.msg}, column {error.colno})."
            ) from None
        except _DuplicateKey as error:
            raise EpeeError(f"Line {number} of {source} names the key {error} twice; keep one.") from None
        if not isinstance(record, dict):
            raise EpeeError(f"Line {number} of {source} holds a {_json_type(record)}, not a JSON object.")
        count += 1
        yield Row(count, number, record)


def _json_document(stream: io.TextIOBase, source: str) -> list[Row]:
    """A ``.json`` file holds either one array of objects or, as PHEE ships it, JSON lines."""
    text = stream.read()
    if not text.lstrip().startswith("["):
        return list(_json_lines(io.StringIO(text), source))
    try:
        records = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise EpeeError(
            f"{source} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    except _DuplicateKey as error:
        raise EpeeError(f"An object in {source} names the key {error} twice; keep one.") from None
    rows = []
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise EpeeError(f"Item {position} of the array in {source} is a {_json_type(record)}, not an object.")
        rows.append(Row(position + 1, None, record))
    return rows


class _DuplicateKey(Exception):
    """A JSON object with a repeated key: ``json`` would silently keep the last value."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise _DuplicateKey(describe_columns([key])[0])
        record[key] = value
    return record


def _json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages that must not print the value itself."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "list", str: "string"}.get(type(value), type(value).__name__)


def require_columns(rows: Sequence[Row], columns: Iterable[str | None], source: str) -> None:
    """Fail with the list of columns that do exist when a needed column is missing from a row."""
    columns = list(columns)
    for row in rows:
        missing = [column for column in columns if column is not None and column not in row.values]
        if missing:
            raise EpeeError(
                f"Column {missing[0]!r} is missing from {row.where(source)}; the columns there are "
                f"{columns_text(list(row.values))}."
            )


def required_text(row: Row, column: str, source: str) -> str:
    """The text in ``column``, or an error naming the row when it is empty (a model cannot read nothing)
    or not text at all (a number or list would be read as its Python spelling)."""
    text = optional_text(row, column, source)
    if text is None or not text.strip():
        raise EpeeError(f"{row.where(source)} has an empty {column!r}; fill it in or remove the record.")
    return text


def optional_text(row: Row, column: str, source: str) -> str | None:
    """The text in ``column``; ``None`` when the cell is empty or null (e.g. no second text of a pair)."""
    value = row.values[column]
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EpeeError(
            f"{row.where(source)} holds a {_json_type(value)} in {column!r}, not text; store the text as a string."
        )
    return value


def read_table(
    path: str | Path,
    *,
    text_column: str,
    label_column: str,
    format: str | None = None,
    text_pair_column: str | None = None,
    label_separator: str | None = None,
    group_column: str | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> list[Example]:
    """Examples from a user's CSV/TSV/JSON-lines/JSON table.

    The task is multi-label when ``label_separator`` is given (``"a;b"`` -> ``("a", "b")``, an empty
    cell -> no labels) or when a JSON label value is a list; otherwise each row has exactly one label.
    Delimited files are read with strict standard quoting, so quoted fields may hold newlines.
    An empty or null text pair means "no pair", as at prediction time.
    """
    path = Path(path)
    rows = read_rows(path, format=format, encoding=encoding)
    if not rows:
        raise EpeeError(f"{path} has a header but no records.")
    return examples_from_rows(
        rows,
        str(path),
        text_column=text_column,
        label_column=label_column,
        text_pair_column=text_pair_column,
        label_separator=label_separator,
        group_column=group_column,
    )


def examples_from_rows(
    rows: Sequence[Row],
    source: str,
    *,
    text_column: str,
    label_column: str,
    text_pair_column: str | None = None,
    label_separator: str | None = None,
    group_column: str | None = None,
) -> list[Example]:
    """:func:`read_table`'s examples from rows already read (e.g. one split's rows of a file with a split column)."""
    require_columns(rows, (text_column, label_column, text_pair_column, group_column), source)
    return [
        Example(
            text=required_text(row, text_column, source),
            labels=_labels(row.values[label_column], label_separator, row.where(source), label_column),
            text_pair=optional_text(row, text_pair_column, source) if text_pair_column else None,
            group=_group(row.values[group_column]) if group_column else None,
        )
        for row in rows
    ]


def _group(value: Any) -> str | None:
    return None if value is None else str(value)


def _labels(value: Any, separator: str | None, where: str, column: str) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(_label(item, where, column) for item in value)
    if value is None or value == "":
        if separator is not None:
            return ()
        raise EpeeError(f"{where} has an empty label in {column!r}; every row of a single-label table needs one.")
    if separator is not None and isinstance(value, str):
        return tuple(_label(part, where, column) for part in value.split(separator) if part.strip())
    return (_label(value, where, column),)


def _label(value: Any, where: str, column: str) -> str:
    """One label name: text or a whole number, never a missing-value marker such as NaN."""
    if (
        isinstance(value, float)
        and math.isnan(value)
        or (isinstance(value, str) and value.strip().lower() in MISSING_VALUE_MARKERS)
    ):
        raise EpeeError(f"{where} has a missing value (NaN) as its label in {column!r}; label the record or remove it.")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EpeeError(f"{where} holds a {_json_type(value)} as a label in {column!r}; labels are names or integers.")
    text = str(value).strip()
    if not text:
        raise EpeeError(f"{where} has an empty label in {column!r}; every row of a single-label table needs one.")
    return text
