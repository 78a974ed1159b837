"""``predict_file``: a table of texts in, a table of early-exit predictions out (one row per input row).

The row schema lives here, not in the command line, so Python users write the same files:
``row`` (the input row number), ``label`` (a list for multi-label models), ``probabilities`` (label ->
probability) and ``exit_layer`` (1-based).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from epee.data.tabular import DEFAULT_ENCODING
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


def prediction_records(result: Predictions, row_numbers: Sequence[int]) -> Iterator[dict]:
    """One output record per input row, in input order."""
    for number, label, probabilities, layer in zip(
        row_numbers, result.labels, result.probabilities.tolist(), result.exit_layer.tolist(), strict=True
    ):
        yield {
            "row": number,
            "label": list(label) if result.multi_label else label,
            "probabilities": dict(zip(result.label_names, [round(p, 6) for p in probabilities], strict=True)),
            "exit_layer": layer,
        }


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
) -> PredictFileSummary:
    """Predict every row of ``input`` and write ``output`` (by suffix, one of OUTPUT_FORMATS) atomically.

    Bad rows stop the run with their row number, or with ``skip_bad_rows`` go to ``OUTPUT.bad.jsonl``.
    The outputs are checked before any work: the input is never overwritten, an earlier run's files
    only with ``overwrite``, and a stale bad-rows file does not survive a clean run.
    """
    check_prediction_outputs(output, input, overwrite=overwrite)
    rows = read_input_rows(
        input,
        text_column=text_column,
        text_pair_column=text_pair_column,
        format=format,
        skip_bad_rows=skip_bad_rows,
        encoding=encoding,
    )
    started = time.perf_counter()
    result = predict(model, rows.texts, rows.text_pairs, policy=policy, batch_size=batch_size, progress=progress)
    seconds = time.perf_counter() - started
    write_atomically(output, prediction_records(result, rows.row_numbers))
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
