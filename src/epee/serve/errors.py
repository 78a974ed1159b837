"""One JSON error shape for every failure: ``{"error": sentence, "error_type": kind, ...}``.

``error`` is what both Hugging Face TEI and the Open Inference Protocol put in an error body, so
clients of either read it. Messages name the field, the limit or the value that was wrong, never
the text of an input (clinical text is PHI): FastAPI's default 422 body echoes the input, so it is
replaced here.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ServeError(Exception):
    """A request the service refuses, with the HTTP status and the sentence to send back."""

    def __init__(
        self,
        status_code: int,
        message: str,
        error_type: str,
        *,
        limit: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.error_type = error_type
        self.limit = limit
        self.headers = headers


def limit_exceeded(limit: str, value: int, maximum: int, what: str) -> ServeError:
    """413 naming the limit, e.g. ``max_texts_per_request``, the value received and the maximum."""
    return ServeError(
        413,
        f"The request exceeds {limit}: {what} {value}, the maximum is {maximum}.",
        "limit",
        limit=limit,
    )


def error_body(message: str, error_type: str, limit: str | None = None) -> dict:
    body = {"error": message, "error_type": error_type}
    if limit is not None:
        body["limit"] = limit
    return body


def _location(location: tuple) -> str:
    parts = [str(part) for part in location if part != "body"]
    return ".".join(parts) or "body"


def validation_message(errors: list[dict]) -> str:
    """Pydantic errors as one sentence of locations and reasons; the offending input values are left out."""
    problems = [f"{_location(tuple(error.get('loc', ())))}: {error.get('msg', 'invalid')}" for error in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "The request body is invalid: " + "; ".join(problems) + more + "."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, error: ServeError) -> JSONResponse:
        return JSONResponse(
            error_body(error.message, error.error_type, error.limit), error.status_code, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(validation_message(list(error.errors())), "validation"), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:  # FastAPI's answer to a body it cannot parse (e.g. JSON nested too deep)
            return JSONResponse(error_body("The request body is not JSON that can be read.", "validation"), 422)
        kinds = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "limit"}
        limit = getattr(error, "limit", None)
        body = error_body(str(error.detail), kinds.get(error.status_code, "http"), limit)
        return JSONResponse(body, error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # The type only: an exception's message may quote an input.
        logger.error("Unexpected %s while serving %s.", type(error).__name__, request.url.path)
        return JSONResponse(error_body("Internal error; it has been logged.", "internal"), 500)
