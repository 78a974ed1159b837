"""``epee serve``: load one checkpoint and answer HTTP requests with cross-request batching."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from epee.cli.engine_options import EngineOption, load_for_engine
from epee.cli.errors import user_errors

logger = logging.getLogger(__name__)


@user_errors
def serve(
    checkpoint: Annotated[
        Path,
        typer.Argument(help="Checkpoint directory written by `epee train` (or `epee export`, with --engine onnx)."),
    ],
    host: Annotated[str, typer.Option(help="Address to bind; the default answers this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_batch_size: Annotated[int, typer.Option(help="Most rows one batch runs.")] = 32,
    max_wait_ms: Annotated[float, typer.Option(help="Longest a row waits for its batch to fill.")] = 5.0,
    max_queue: Annotated[int, typer.Option(help="Most rows waiting; beyond it requests get 503.")] = 1024,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body; beyond it 413.")] = 1_048_576,
    max_texts_per_request: Annotated[int, typer.Option(help="Most texts in one request; beyond it 413.")] = 256,
    max_chars_per_text: Annotated[int, typer.Option(help="Longest text in characters; beyond it 413.")] = 10_000,
    engine: EngineOption = "torch",
    schedule: Annotated[
        str,
        typer.Option(
            help="batch: each batch runs to its end; layer: queued rows join the running batch at every layer "
            "boundary, so it stays full as rows exit."
        ),
    ] = "batch",
    model_name: Annotated[
        str | None, typer.Option(help="Name in the /v2/models/NAME routes [default: the checkpoint folder's name].")
    ] = None,
) -> None:
    """Serve a checkpoint over HTTP: POST /predict, Open Inference Protocol v2, /info, /metrics.

    Set EPEE_API_TOKEN to require `Authorization: Bearer <token>` on every route but the health probes.
    SIGTERM stops accepting connections, finishes what is queued, and exits 0.
    """
    import uvicorn

    from epee.serve import PredictionService, ServeSettings, create_app

    settings = ServeSettings(
        max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms,
        max_queue=max_queue,
        max_body_bytes=max_body_bytes,
        max_texts_per_request=max_texts_per_request,
        max_chars_per_text=max_chars_per_text,
        engine=engine,
        schedule=schedule,
        api_token=os.environ.get("EPEE_API_TOKEN"),
    )
    # One plain line per record, as log collectors expect from a service (the CLI's Rich handler wraps lines).
    logging.basicConfig(
        level=logging.getLogger().level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    model = load_for_engine(checkpoint, settings.engine)
    service = PredictionService(model, settings, model_name or checkpoint.resolve().name)
    logger.info(
        "Serving %s (%d layers, exits at %s) on http://%s:%d%s.",
        service.model_name,
        model.num_layers,
        model.exit_layers,
        host,
        port,
        " with bearer-token auth" if settings.api_token else "",
    )
    config = uvicorn.Config(create_app(service), host=host, port=port, access_log=False, log_config=None)
    # uvicorn drains on SIGTERM, then raises the signal again under the handler it found: make that a
    # no-op, so a drained server exits 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    uvicorn.Server(config).run()
