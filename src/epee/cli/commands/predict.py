"""``epee predict``: early-exit predictions for a table of texts, or images for an image model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.cli.checkpoint_options import AllowExternalBackboneOption
from epee.cli.engine_options import load_for_engine
from epee.cli.errors import user_errors
from epee.cli.output import console
from epee.cli.policy_options import ParamOption, policy_from_options
from epee.defaults import DEFAULT_CHUNK_ROWS
from epee.errors import EpeeError

ENGINES = ("torch", "ray", "onnx")
"""Where ``epee predict`` runs the model; each engine is one branch of the command below."""


@user_errors
def predict(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    input: Annotated[
        Path,
        typer.Argument(
            help="CSV, TSV, JSON-lines or Parquet file of texts; for an image model an image, a folder of images or "
            "an .npz."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions file (.jsonl or .csv).")],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    text_pair_column: Annotated[str | None, typer.Option(help="Second-text column, for pairs [default: none].")] = None,
    format: Annotated[
        str | None, typer.Option(help="csv, tsv, jsonl, json or parquet [default: from the suffix].")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Rows per batch (sorted by length within a chunk).")] = 32,
    chunk_rows: Annotated[
        int, typer.Option(help="Input rows read, predicted and written at a time: bounds memory; the unit of --resume.")
    ] = DEFAULT_CHUNK_ROWS,
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted run from its last finished chunk (same input and options).")
    ] = False,
    policy: Annotated[
        str | None, typer.Option(help="Exit policy name [default: calibrated, the checkpoint's own].")
    ] = None,
    param: ParamOption = None,
    skip_bad_rows: Annotated[
        bool,
        typer.Option("--skip-bad-rows", help="Write bad rows to OUTPUT.bad.jsonl instead of stopping at the first."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing OUTPUT (never the input).")
    ] = False,
    encoding: Annotated[str, typer.Option(help="Text encoding of INPUT, e.g. latin-1 or cp1252.")] = "utf-8-sig",
    id_column: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN", help="Input column copied to the output in place of the row number [default: none]."
        ),
    ] = None,
    keep_column: Annotated[
        list[str] | None,
        typer.Option(metavar="COLUMN", help="Input column copied to the output as it is (repeatable) [default: none]."),
    ] = None,
    allow_external_backbone: AllowExternalBackboneOption = False,
    engine: Annotated[
        str,
        typer.Option(
            help="torch: this process, streamed, resumable; ray: an actor pool on Ray Data (epee[ray]); "
            "onnx: a directory written by `epee export`, run by ONNX Runtime (epee[onnx])."
        ),
    ] = "torch",
    num_workers: Annotated[int, typer.Option(help="--engine ray: BatchPredictor actors, one CPU each.")] = 2,
    address: Annotated[
        str | None, typer.Option(help="--engine ray: a running cluster, 'auto' or ray://HOST:10001 [default: local].")
    ] = None,
) -> None:
    """Predict with early exits; writes label, probabilities and exit layer per row, atomically."""
    from epee.runtime.predict_file import check_carried_columns, check_chunk_rows, predict_file
    from epee.runtime.resume import check_unfinished_run
    from epee.runtime.table_io import check_prediction_outputs
    from epee.tasks.encoding import check_batch_size

    check_carried_columns(id_column, keep_column or [])
    check_prediction_outputs(output, input, overwrite=overwrite)  # before the model loads
    check_unfinished_run(output, resume=resume, overwrite=overwrite)
    check_batch_size(batch_size)
    check_chunk_rows(chunk_rows)
    chosen = policy_from_options(policy, param)
    if engine not in ENGINES:
        raise EpeeError(f"Unknown --engine {engine!r}; choose one of {', '.join(ENGINES)}.")
    if engine != "ray" and (address is not None or num_workers != 2):
        raise EpeeError("--num-workers and --address are options of --engine ray; add --engine ray or drop them.")
    if engine == "ray":
        from epee.runtime.ray_predict import predict_file_on_ray

        for name, given in (("--resume", resume), ("--skip-bad-rows", skip_bad_rows)):
            if given:
                raise EpeeError(f"{name} works with --engine torch only; drop it or the --engine ray option.")
        summary = predict_file_on_ray(
            checkpoint,
            input,
            output,
            num_workers=num_workers,
            address=address,
            text_column=text_column,
            text_pair_column=text_pair_column,
            format=format,
            policy=chosen,
            batch_size=batch_size,
            chunk_rows=chunk_rows,
            overwrite=overwrite,
            encoding=encoding,
            allow_external_backbone=allow_external_backbone,
            progress=True,
            id_column=id_column,
            keep_columns=keep_column or [],
        )
    else:
        model = load_for_engine(checkpoint, engine, allow_external_backbone)
        summary = predict_file(
            model,
            input,
            output,
            text_column=text_column,
            text_pair_column=text_pair_column,
            format=format,
            policy=chosen,
            batch_size=batch_size,
            chunk_rows=chunk_rows,
            skip_bad_rows=skip_bad_rows,
            overwrite=overwrite,
            resume=resume,
            encoding=encoding,
            progress=True,
            id_column=id_column,
            keep_columns=keep_column or [],
        )
    if summary.bad_rows:
        console.print(f"[yellow]{summary.bad_rows} bad rows set aside in {summary.bad_rows_path}.[/yellow]")
    console.print(
        f"{summary.rows} rows ({summary.rows_this_run} in this run, {summary.seconds:.1f} s, "
        f"{summary.rows_per_second:.0f} rows/s); "
        f"mean exit layer {summary.mean_exit_layer:.2f} of {summary.num_layers}; "
        f"layer speed-up {summary.layer_speedup:.2f}x; predictions written to {output}."
    )
