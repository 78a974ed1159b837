"""``epee predict --engine ray``: the same predictions file, computed by an actor pool of BatchPredictors on Ray Data.

Ray Data reads the input (on a cluster, workers read their own parts of the file), each actor loads the
checkpoint once and predicts ``chunk_rows`` rows per call (length-sorted inside, as in one process), and
the driver streams the results back in input order (``preserve_order``) into the same writer a single
process uses, so the two files agree row for row. Runs on a local Ray started here, or joins an existing
cluster with ``address`` (``"auto"`` or ``ray://host:10001``). Ray is the optional extra ``epee[ray]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from epee.atomic import atomic_file
from epee.data.tabular import infer_format, require_regular_file
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.policies import ExitPolicy
from epee.runtime.batch_predictor import BatchPredictor
from epee.runtime.predict import resolve_policy
from epee.runtime.predict_file import PredictFileSummary, check_carried_columns, column_records
from epee.runtime.table_io import check_prediction_outputs, record_writer


def require_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise EpeeError("--engine ray needs Ray Data; install it with: pip install 'epee[ray]'.") from None
    return ray


def predict_file_on_ray(
    checkpoint: Path,
    input: Path,
    output: Path,
    *,
    num_workers: int = 2,
    address: str | None = None,
    text_column: str = "text",
    text_pair_column: str | None = None,
    format: str | None = None,
    policy: ExitPolicy | None = None,
    batch_size: int = 32,
    chunk_rows: int = 4096,
    overwrite: bool = False,
    encoding: str = "utf-8-sig",
    allow_external_backbone: bool = False,
    progress: bool = False,
    id_column: str | None = None,
    keep_columns: Sequence[str] = (),
) -> PredictFileSummary:
    """Predict every row of ``input`` on ``num_workers`` Ray actors and write ``output`` atomically, in input order."""
    carried = check_carried_columns(id_column, keep_columns)
    input, output = Path(input), Path(output)
    check_prediction_outputs(output, input, overwrite=overwrite)
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise EpeeError(f"--num-workers must be a positive whole number, not {num_workers!r}.")
    require_regular_file(input, "Input file")
    file_format = infer_format(input, format)
    model = MultiExitModel.from_pretrained(checkpoint, allow_external_backbone=allow_external_backbone)
    policy = resolve_policy(model, policy)  # checked here, before any worker starts
    label_names, num_layers = list(model.config.label_names), model.num_layers
    del model
    ray = require_ray()
    started_here = not ray.is_initialized()
    if started_here:
        local = {} if address else {"num_cpus": num_workers + 1, "include_dashboard": False}
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, **local)
        except Exception as error:  # noqa: BLE001 - Ray raises bare Exceptions and ConnectionErrors here
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise EpeeError(f"Could not start or reach {where} ({error}); check it, or use --engine torch.") from None
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = progress
        columns = [text_column] + ([text_pair_column] if text_pair_column else [])
        rows = _read(ray, input, file_format, [*columns, *carried], encoding)
        # Blocks of at most one chunk, so a single file's rows spread over every actor (streamed, not shuffled).
        predictions = rows.repartition(target_num_rows_per_block=chunk_rows).map_batches(
            BatchPredictor,
            fn_constructor_args=(str(checkpoint),),
            fn_constructor_kwargs=dict(
                policy=policy,
                text_column=text_column,
                text_pair_column=text_pair_column,
                batch_size=batch_size,
                allow_external_backbone=allow_external_backbone,
            ),
            batch_size=chunk_rows,
            batch_format="numpy",
            concurrency=num_workers,
            num_cpus=1,
        )
        started = time.perf_counter()
        outputs = predictions.select_columns([*carried, "label", "probabilities", "exit_layer"])
        rows, layer_sum = _write(outputs, output, label_names, input, carried, number_rows=id_column is None)
    finally:
        if started_here:
            ray.shutdown()
    return PredictFileSummary(
        rows=rows,
        bad_rows=0,
        bad_rows_path=None,
        seconds=time.perf_counter() - started,
        rows_this_run=rows,
        mean_exit_layer=layer_sum / rows,
        num_layers=num_layers,
    )


def _read(ray, input: Path, file_format: str, columns: list[str], encoding: str):
    """A Ray dataset of the text columns, read by Ray's own readers, text kept as text (never a number)."""
    import pyarrow
    import pyarrow.csv

    if file_format == "parquet":
        return ray.data.read_parquet(str(input), columns=columns)
    if file_format in ("csv", "tsv"):
        return ray.data.read_csv(
            str(input),
            read_options=pyarrow.csv.ReadOptions(encoding="utf8" if encoding.startswith("utf-8") else encoding),
            parse_options=pyarrow.csv.ParseOptions(
                delimiter="," if file_format == "csv" else "\t", newlines_in_values=True
            ),
            convert_options=pyarrow.csv.ConvertOptions(
                column_types={column: pyarrow.string() for column in columns}, include_columns=columns
            ),  # every column as text, as epee's own CSV reader gives it (an id "007" stays "007")
        )
    if file_format == "jsonl":
        return ray.data.read_json(str(input)).select_columns(columns)
    raise EpeeError(f"--engine ray reads csv, tsv, jsonl and parquet files, not {file_format}; convert {input} first.")


def _write(
    predictions, output: Path, label_names: list[str], input: Path, carried: list[str], *, number_rows: bool
) -> tuple[int, int]:
    """Stream the predictions back in order into ``output``; returns (rows, sum of exit layers).

    Rows are numbered from 1 in the order they come back, which ``preserve_order`` makes the input's."""
    writer = record_writer(output)
    rows = layer_sum = 0
    with atomic_file(output, newline="") as stream:
        for batch in predictions.iter_batches(batch_size=None, batch_format="numpy"):
            count = len(batch["exit_layer"])
            labels = [label if isinstance(label, str) else list(label) for label in batch["label"].tolist()]
            values = {column: batch[column].tolist() for column in carried}
            keys = [
                ({"row": rows + 1 + index} if number_rows else {})
                | {column: values[column][index] for column in carried}
                for index in range(count)
            ]
            records = column_records(
                keys,
                labels,
                batch["probabilities"].tolist(),
                batch["exit_layer"].tolist(),
                label_names,
            )
            writer(stream, records, header=rows == 0)
            rows, layer_sum = rows + count, layer_sum + int(batch["exit_layer"].sum())
        if not rows:
            raise EpeeError(f"{input} holds no rows to predict.")  # inside: no empty output is left behind
    return rows, layer_sum
