"""One ASGI middleware around every request: a request id, the body-size limit, metrics and the access log.

The access log is PHI-safe by construction: it carries the request id, route, status, row count,
latency and exit-layer counts that routes put in the request state, never a body, a text or a label.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from epee.serve.errors import error_body
from epee.serve.metrics import ServeMetrics

access_logger = logging.getLogger("epee.serve.access")


class BodyTooLarge(HTTPException):
    """Raised while the body is read; FastAPI re-raises HTTP exceptions from body parsing, so it answers 413."""

    def __init__(self, maximum: int) -> None:
        super().__init__(413, f"The request exceeds max_body_bytes: the body is over {maximum} bytes.")
        self.limit = "max_body_bytes"


class RequestContext:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: ServeMetrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                await _send_json(send_with_id, 413, BodyTooLarge(self.max_body_bytes))
            else:
                await self.app(scope, self._bounded(receive), send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe_request(route, status, seconds)
            layers = state.get("exit_layers")
            access_logger.info(
                "request_id=%s route=%s status=%d rows=%d latency_ms=%.1f exit_layers=%s",
                request_id,
                route,
                status,
                state.get("rows", 0),
                1000 * seconds,
                _layer_counts(layers) if layers else "{}",
            )

    def _bounded(self, receive: Receive) -> Receive:
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return bounded


def _layer_counts(layers: list[int]) -> str:
    """Rows per exit layer as a JSON object, ``{"2": 3, "6": 1}``, without a Counter and json.dumps per request."""
    counts: dict[int, int] = {}
    for layer in layers:
        counts[layer] = counts.get(layer, 0) + 1
    return "{" + ", ".join(f'"{layer}": {counts[layer]}' for layer in sorted(counts)) + "}"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_json(send: Send, status: int, error: BodyTooLarge) -> None:
    body = json.dumps(error_body(str(error.detail), "limit", error.limit)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _route_template(scope: Scope) -> str:
    """The matched route's path template (``/v2/models/{name}/infer``), so metric labels stay few."""
    return getattr(scope.get("route"), "path", "unmatched")
