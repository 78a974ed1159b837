"""A real server with a tiny queue and a long batching wait: a full queue answers 503, SIGTERM drains."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from epee.serve.testing import running_server
from tests.serve.conftest import TEXTS

OPTIONS = ["--max-queue", "4", "--max-texts-per-request", "4", "--max-wait-ms", "1500", "--max-batch-size", "64"]


@pytest.fixture(scope="module")
def slow_server(served_checkpoint, tmp_path_factory):
    """Rows wait 1.5 s for a batch of 64 that never fills, so requests stay queued long enough to observe."""
    log = tmp_path_factory.mktemp("serve-queue") / "server.log"
    with running_server(served_checkpoint, log, OPTIONS) as process:
        yield process


async def _post_later(client: httpx.AsyncClient, delay: float, texts: list[str]) -> httpx.Response:
    await asyncio.sleep(delay)
    return await client.post("/predict", json={"inputs": texts})


def test_a_full_queue_answers_503_with_retry_after(slow_server):
    async def scenario():
        async with httpx.AsyncClient(base_url=slow_server.url, timeout=30) as client:
            return await asyncio.gather(_post_later(client, 0, TEXTS[:4]), _post_later(client, 0.5, TEXTS[4:5]))

    filling, refused = asyncio.run(scenario())
    assert filling.status_code == 200 and len(filling.json()) == 4
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.json()["error_type"] == "overloaded" and "4 of 4 rows" in refused.json()["error"]


def test_sigterm_finishes_queued_requests_then_exits_0(slow_server):
    async def scenario():
        async with httpx.AsyncClient(base_url=slow_server.url, timeout=30) as client:
            queued = [asyncio.create_task(_post_later(client, 0, [text])) for text in TEXTS[:3]]
            await asyncio.sleep(0.5)  # all three are queued, waiting for their batch
            slow_server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            with pytest.raises(httpx.ConnectError):  # no longer accepting
                await httpx.AsyncClient(base_url=slow_server.url).get("/v2/health/live")
            return await asyncio.gather(*queued)

    started = time.monotonic()
    responses = asyncio.run(scenario())
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert slow_server.process.wait(30) == 0
    assert time.monotonic() - started < 30
    log = slow_server.log()
    assert "Finished server process" in log and "Zorvex" not in log
