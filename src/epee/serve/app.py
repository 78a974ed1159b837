"""The FastAPI application: routes, auth, limits, metrics and the batcher's life span."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import epee
from epee.serve.auth import bearer_token_check
from epee.serve.errors import install_error_handlers
from epee.serve.middleware import RequestContext
from epee.serve.routes_oip import health_router, oip_router
from epee.serve.routes_predict import ERRORS, predict_router
from epee.serve.service import PredictionService


def create_app(service: PredictionService) -> FastAPI:
    """One app per model; the batcher starts with the server and, on shutdown, finishes what is queued."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        await asyncio.to_thread(service.close)

    app = FastAPI(
        title="epee",
        version=epee.__version__,
        description="Early-exit text classification: TEI-style /predict and Open Inference Protocol v2 routes.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContext, max_body_bytes=service.settings.max_body_bytes, metrics=service.metrics)
    # Without a token there is nothing to check: no dependency, so FastAPI solves none per request
    # (and the OpenAPI schema names no security scheme the server would not ask for).
    token = service.settings.api_token
    protected = [Depends(bearer_token_check(token))] if token is not None else []
    app.include_router(health_router(service))
    app.include_router(predict_router(service), dependencies=protected)
    app.include_router(oip_router(service), dependencies=protected)

    @app.get("/metrics", dependencies=protected, responses=ERRORS, response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format: requests, latencies, batch sizes, exit layers, rows, queue size."""
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
