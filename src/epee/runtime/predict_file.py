"""``predict_file``: a table of texts in, a table of early-exit predictions out (one row per input row).

The row schema lives here, not in the command line, so Python users write the same files:
``row`` (the input row number) or, with ``id_column``, that column's value under its own name, then
any ``keep_columns`` as they were, then ``label`` (a list for multi-label models), ``probabilities`` (label ->
probability) and ``exit_layer`` (1-based).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from epee.data.tabular import DEFAULT_ENCODING
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.policies import ExitPolicy
from epee.runtime.predict import Predictions, predict
from epee.runtime.table_io import check_prediction_outputs, read_input_rows, write_atomically, write_bad_rows


@dataclass
class PredictFileSummary:
    rows: int
    bad_rows: int
    bad_rows_path: Path | None
    seconds: float
    mean_exit_layer: float
    num_layers: int
    layer_speedup: float


PREDICTION_FIELDS = ("label", "probabilities", "exit_layer")


def prediction_records(result: Predictions, row_keys: Sequence[dict]) -> Iterator[dict]:
    """One output record per input row, in input order: the row's keys (number or carried columns), then predictions."""
    for keys, label, probabilities, layer in zip(
        row_keys, result.labels, result.probabilities.tolist(), result.exit_layer.tolist(), strict=True
    ):
        yield {
            **keys,
            "label": list(label) if result.multi_label else label,
            "probabilities": dict(zip(result.label_names, [round(p, 6) for p in probabilities], strict=True)),
            "exit_layer": layer,
        }


def check_carried_columns(id_column: str | None, keep_columns: Sequence[str]) -> list[str]:
    """The columns copied to the output, id first; one named twice or like a prediction field is refused."""
    carried = ([id_column] if id_column else []) + list(keep_columns)
    names = carried + (["row"] if id_column is None else []) + list(PREDICTION_FIELDS)
    for column in carried:
        if names.count(column) > 1:
            taken = "is a field of the predictions" if column in (*PREDICTION_FIELDS, "row") else "is named twice"
            raise EpeeError(
                f"The column {column!r} given to --id-column / --keep-column {taken}; name each column once, "
                "and rename an input column called row, label, probabilities or exit_layer."
            )
    return carried


def predict_file(
    model: MultiExitModel,
    input: Path,
    output: Path,
    *,
    text_column: str = "text",
    text_pair_column: str | None = None,
    format: str | None = None,
    policy: ExitPolicy | None = None,
    batch_size: int = 32,
    skip_bad_rows: bool = False,
    overwrite: bool = False,
    encoding: str = DEFAULT_ENCODING,
    progress: bool = False,
    id_column: str | None = None,
    keep_columns: Sequence[str] = (),
) -> PredictFileSummary:
    """Predict every row of ``input`` and write ``output`` (by suffix, one of OUTPUT_FORMATS) atomically.

    Bad rows stop the run with their row number, or with ``skip_bad_rows`` go to ``OUTPUT.bad.jsonl``.
    The outputs are checked before any work: the input is never overwritten, an earlier run's files
    only with ``overwrite``, and a stale bad-rows file does not survive a clean run. ``id_column`` (in place
    of the row number) and ``keep_columns`` are copied to the output unchanged, so predictions join back
    to the records they came from.
    """
    carried = check_carried_columns(id_column, keep_columns)
    check_prediction_outputs(output, input, overwrite=overwrite)
    rows = read_input_rows(
        input,
        text_column=text_column,
        text_pair_column=text_pair_column,
        format=format,
        skip_bad_rows=skip_bad_rows,
        encoding=encoding,
        carried_columns=carried,
    )
    started = time.perf_counter()
    result = predict(model, rows.texts, rows.text_pairs, policy=policy, batch_size=batch_size, progress=progress)
    seconds = time.perf_counter() - started
    if id_column is None:
        row_keys = [{"row": number, **values} for number, values in zip(rows.row_numbers, rows.carried, strict=True)]
    else:
        row_keys = rows.carried
    write_atomically(output, prediction_records(result, row_keys))
    bad_path = write_bad_rows(output, rows.bad_rows)
    return PredictFileSummary(
        rows=len(rows.texts),
        bad_rows=len(rows.bad_rows),
        bad_rows_path=bad_path,
        seconds=seconds,
        mean_exit_layer=result.mean_exit_layer,
        num_layers=result.num_layers,
        layer_speedup=result.layer_speedup,
    )
