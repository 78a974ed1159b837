"""Optional bearer-token auth: with ``EPEE_API_TOKEN`` set, every route but the health probes needs it."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from epee.serve.errors import ServeError

_bearer = HTTPBearer(auto_error=False, description="The value of EPEE_API_TOKEN, when the server has one.")


def bearer_token_check(token: str):
    """A FastAPI dependency that refuses requests without ``Authorization: Bearer <token>`` (401).

    It is a coroutine so FastAPI runs it on the event loop: a plain function would be sent to a worker
    thread on every request, two thread hand-offs per request for a string comparison.
    """

    async def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise ServeError(
                401,
                "Missing or wrong bearer token: send the header 'Authorization: Bearer <EPEE_API_TOKEN>'.",
                "unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check
