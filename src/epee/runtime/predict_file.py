"""``predict_file``: a table of texts in, a table of early-exit predictions out (one row per input row), streamed.

The input is read ``chunk_rows`` records at a time; each chunk is sorted by length into batches
(:func:`epee.runtime.predict`), and its predictions are appended in input order to ``OUTPUT.partial``,
renamed to ``OUTPUT`` after the last chunk. Memory is bounded by one chunk, not by the file, and an
interrupted run continues from its last finished chunk (:mod:`epee.runtime.resume`).
For an image model the input is an image, a folder of images or an ``.npz`` (read whole, not in chunks),
and each row carries ``image``: the file's path inside the folder, or ``images[i]`` of the ``.npz``.

The row schema lives here, not in the command line, so Python users write the same files:
``row`` (the input row number) or, with ``id_column``, that column's value under its own name, then
any ``keep_columns`` as they were (for images: ``row`` and ``image``, the file's path inside the folder or
``images[i]`` of an ``.npz``), then ``label`` (a list for multi-label models), ``probabilities`` (label ->
probability) and ``exit_layer`` (1-based).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from tqdm.auto import tqdm

from epee.data.tabular import DEFAULT_ENCODING, infer_format
from epee.data.user_images import read_images_to_predict
from epee.defaults import DEFAULT_CHUNK_ROWS
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.policies import ExitPolicy
from epee.runtime.predict import Predictions, predict, predict_images, resolve_policy
from epee.runtime.resume import Progress, ResumableOutput, check_unfinished_run
from epee.runtime.table_io import (
    bad_rows_path,
    check_prediction_outputs,
    encode_records,
    input_chunks,
    write_atomically,
    write_bad_rows,
)


@dataclass
class PredictFileSummary:
    rows: int
    bad_rows: int
    bad_rows_path: Path | None
    seconds: float  # this run's time (a resumed run's earlier part not included)
    rows_this_run: int
    mean_exit_layer: float
    num_layers: int

    @property
    def layer_speedup(self) -> float:
        """L / mean(exit layer) over every row of the output."""
        return self.num_layers / self.mean_exit_layer

    @property
    def rows_per_second(self) -> float:
        return self.rows_this_run / self.seconds if self.seconds > 0 else float("inf")


PREDICTION_FIELDS = ("label", "probabilities", "exit_layer")


def prediction_records(result: Predictions, row_keys: Sequence[dict]) -> Iterator[dict]:
    """One output record per input row, in input order: the row's keys (number or carried columns), then predictions."""
    labels = [list(label) for label in result.labels] if result.multi_label else result.labels
    probabilities, layers = result.probabilities.tolist(), result.exit_layer.tolist()
    return column_records(row_keys, labels, probabilities, layers, result.label_names)


def column_records(
    row_keys: Iterable[dict],
    labels: Iterable[str | list[str]],
    probabilities: Iterable[Sequence[float]],
    exit_layers: Iterable[int],
    label_names: Sequence[str],
) -> Iterator[dict]:
    """The output records from columns, whichever engine computed them, so every engine writes the same file."""
    for keys, label, row_probabilities, layer in zip(row_keys, labels, probabilities, exit_layers, strict=True):
        yield {
            **keys,
            "label": label,
            "probabilities": dict(zip(label_names, [round(p, 6) for p in row_probabilities], strict=True)),
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


def check_chunk_rows(chunk_rows: object) -> None:
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise EpeeError(f"The chunk size must be a positive whole number of rows, not {chunk_rows!r}.")


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
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    skip_bad_rows: bool = False,
    overwrite: bool = False,
    resume: bool = False,
    encoding: str = DEFAULT_ENCODING,
    progress: bool = False,
    id_column: str | None = None,
    keep_columns: Sequence[str] = (),
) -> PredictFileSummary:
    """Predict every row of ``input`` and write ``output`` (by suffix, one of OUTPUT_FORMATS), chunk by chunk.

    Bad rows stop the run with their row number, or with ``skip_bad_rows`` go to ``OUTPUT.bad.jsonl``.
    The outputs are checked before any work: the input is never overwritten, an earlier run's files
    only with ``overwrite``, and a stale bad-rows file does not survive a clean run. ``resume`` continues
    an interrupted run with the same input and options from its last finished chunk; the result is
    byte for byte the file an uninterrupted run writes. A user error (a bad row, a damaged file) removes
    the partial files; an interruption (Ctrl-C, a kill) keeps them for ``resume``. ``id_column`` (in place
    of the row number) and ``keep_columns`` are copied to the output unchanged, so predictions join back
    to the records they came from.
    """
    carried = check_carried_columns(id_column, keep_columns)
    input, output = Path(input), Path(output)
    check_prediction_outputs(output, input, overwrite=overwrite)
    if model.family.modality == "image":
        if id_column is not None or keep_columns or resume:
            raise EpeeError(
                "--id-column, --keep-column and --resume apply to tables of texts; this model reads images."
            )
        return _predict_image_file(model, input, output, policy, batch_size, skip_bad_rows, progress)
    check_unfinished_run(output, resume=resume, overwrite=overwrite)
    check_chunk_rows(chunk_rows)
    policy = resolve_policy(model, policy)  # once, not per chunk
    options = dict(text_column=text_column, text_pair_column=text_pair_column, format=format, encoding=encoding)
    chunks = input_chunks(input, skip_bad_rows=skip_bad_rows, chunk_rows=chunk_rows, carried_columns=carried, **options)
    fingerprint = _fingerprint(model, input, policy, batch_size, chunk_rows, skip_bad_rows, options)
    fingerprint["id_column"], fingerprint["keep_columns"] = id_column, list(keep_columns)
    store = ResumableOutput(output, fingerprint, resume=resume)
    done = store.open()
    resumed_rows = done.rows
    started = time.perf_counter()
    try:
        with tqdm(
            total=_expected_records(input, format),
            initial=done.records,
            unit="row",
            desc="predict",
            disable=not progress,
        ) as bar:
            for chunk in islice(chunks, done.chunks, None):
                done = _predict_chunk(model, chunk, policy, batch_size, output, store, done, id_column)
                bar.update(len(chunk.row_numbers) + len(chunk.bad_rows))
        bad_path = store.finish(done)
    except EpeeError:
        store.discard()
        raise
    return PredictFileSummary(
        rows=done.rows,
        bad_rows=done.bad_rows,
        bad_rows_path=bad_path,
        seconds=time.perf_counter() - started,
        rows_this_run=done.rows - resumed_rows,
        mean_exit_layer=done.exit_layer_sum / done.rows,
        num_layers=model.num_layers,
    )


def _predict_chunk(
    model, chunk, policy, batch_size, output, store: ResumableOutput, done: Progress, id_column: str | None
) -> Progress:
    """Predict one chunk, append its rows and bad rows, and return the progress after it."""
    predicted, bad = b"", b""
    layers = 0
    if chunk.texts:
        result = predict(model, chunk.texts, chunk.text_pairs, policy=policy, batch_size=batch_size)
        if id_column is None:
            keys = [{"row": number, **values} for number, values in zip(chunk.row_numbers, chunk.carried, strict=True)]
        else:
            keys = chunk.carried
        predicted = encode_records(output, prediction_records(result, keys), header=done.rows == 0)
        layers = int(result.exit_layer.sum())
    if chunk.bad_rows:
        bad = encode_records(bad_rows_path(output), chunk.bad_rows, header=False)
    after = Progress(
        chunks=done.chunks + 1,
        records=done.records + len(chunk.texts) + len(chunk.bad_rows),
        rows=done.rows + len(chunk.texts),
        bad_rows=done.bad_rows + len(chunk.bad_rows),
        exit_layer_sum=done.exit_layer_sum + layers,
        output_bytes=done.output_bytes + len(predicted),
        bad_bytes=done.bad_bytes + len(bad),
    )
    store.append(after, predicted, bad)
    return after


def _fingerprint(model, input: Path, policy, batch_size, chunk_rows, skip_bad_rows, options) -> dict:
    """What must not change between a run and its resumption: the input file, the options and the model."""
    status = input.stat()
    return {
        "input": str(input.resolve()),
        "input_size": status.st_size,
        "input_mtime_ns": status.st_mtime_ns,
        "batch_size": batch_size,
        "chunk_rows": chunk_rows,
        "skip_bad_rows": skip_bad_rows,
        "policy": {"name": policy.name, "params": repr(policy.params)},
        "labels": list(model.config.label_names),
        "exit_layers": list(model.exit_layers),
        "weights_sum": _weights_fingerprint(model),
        **options,
    }


def _weights_fingerprint(model) -> float | list[str]:
    """The weights in brief: a sum over a PyTorch model's parameters, or an ONNX export's graph hashes."""
    manifest = getattr(model, "manifest", None)
    if manifest is not None:
        return [graph["sha256"] for graph in (manifest["embeddings"], *manifest["segments"])]
    return sum(float(parameter.detach().double().sum()) for parameter in model.parameters())


def _expected_records(input: Path, format: str | None) -> int | None:
    """The number of records for the progress bar's ETA: exact for Parquet, the line count for text files
    (an upper bound where quoted cells span lines). Counting reads the file once, at disk speed."""
    file_format = infer_format(input, format)
    if file_format == "parquet":
        from epee.data.parquet import parquet_row_count

        return parquet_row_count(input)
    if file_format == "json":
        return None
    lines = 0
    with open(input, "rb") as stream:
        while block := stream.read(1 << 20):
            lines += block.count(b"\n")
    return max(lines - (1 if file_format in ("csv", "tsv") else 0), 0)


def _predict_image_file(
    model: MultiExitModel,
    input: Path,
    output: Path,
    policy: ExitPolicy | None,
    batch_size: int,
    skip_bad_rows: bool,
    progress: bool,
) -> PredictFileSummary:
    """An image file, a folder of images or an ``.npz`` (see :func:`~epee.data.user_images.read_images_to_predict`)."""
    inputs = read_images_to_predict(input, skip_bad=skip_bad_rows)
    started = time.perf_counter()
    result = predict_images(model, inputs.images, policy=policy, batch_size=batch_size, progress=progress)
    seconds = time.perf_counter() - started
    keys = [{"row": number, "image": name} for number, name in enumerate(inputs.names, start=1)]
    write_atomically(output, prediction_records(result, keys))
    bad_path = write_bad_rows(output, inputs.bad)
    return PredictFileSummary(
        rows=len(inputs.images),
        bad_rows=len(inputs.bad),
        bad_rows_path=bad_path,
        seconds=seconds,
        rows_this_run=len(inputs.images),
        mean_exit_layer=result.mean_exit_layer,
        num_layers=result.num_layers,
    )
