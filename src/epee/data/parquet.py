"""Records from Parquet files, a record batch at a time: the format archives of millions of notes are kept in.

pyarrow is an optional dependency (``pip install 'epee[parquet]'``); it is imported only when a
Parquet file is touched, so the other formats work without it. Rows and their checks are
:mod:`epee.data.tabular`'s; this module only decodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from epee.errors import EpeeError

BATCH_ROWS = 4096
"""Rows decoded at once: memory stays bounded by one batch, whatever size the file's row groups have."""


def require_pyarrow():
    """The ``pyarrow.parquet`` module, or a one-sentence install hint."""
    try:
        import pyarrow.parquet
    except ImportError:
        raise EpeeError("Parquet files need pyarrow; install it with: pip install 'epee[parquet]'.") from None
    return pyarrow.parquet


def _open(path: Path):
    try:
        return require_pyarrow().ParquetFile(path)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise EpeeError(f"{path} is not a readable Parquet file ({type(error).__name__}); check the file.") from None


def parquet_row_count(path: Path) -> int:
    """The number of rows, from the file's footer (no data is read)."""
    return _open(path).metadata.num_rows


def open_parquet(path: Path) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """The column names and an iterator over the records (dicts), decoded one batch at a time."""
    table = _open(path)
    return list(table.schema_arrow.names), _records(table)


def _records(table) -> Iterator[dict[str, Any]]:
    with table:
        for batch in table.iter_batches(batch_size=BATCH_ROWS):
            yield from batch.to_pylist()
