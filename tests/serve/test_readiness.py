"""Waiting for a real ``epee serve`` process: no fixed deadline, but a clear failure when it died or is stuck."""

from __future__ import annotations

import subprocess
import sys

import pytest

from epee.serve.testing import ServerProcess, free_port, running_server, wait_until_ready


def test_a_server_that_exits_fails_the_wait_at_once_with_its_log(tmp_path):
    log = tmp_path / "server.log"
    with pytest.raises(RuntimeError, match=r"exited with code 2 before it was ready") as failure:
        with running_server(tmp_path / "no-checkpoint", log):
            pass
    assert "the end of its log" in str(failure.value) and "no-checkpoint" in str(failure.value)


def _process(tmp_path, code: str) -> ServerProcess:
    """A real process that never listens on its port."""
    log = tmp_path / "process.log"
    with open(log, "w") as stream:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=stream, stderr=subprocess.STDOUT)
    return ServerProcess(f"http://127.0.0.1:{free_port()}", process, log)


@pytest.mark.parametrize(
    ("code", "options", "message"),
    [
        ("print('waiting', flush=True); import time; time.sleep(600)", {"stall_seconds": 1.5}, "used no CPU for 1.5 s"),
        ("print('busy', flush=True)\nwhile True: pass", {"startup_seconds": 1.5}, "was not ready after 1.5 s"),
    ],
)
def test_a_stuck_or_never_ready_process_fails_the_wait_with_its_log(tmp_path, code, options, message):
    server = _process(tmp_path, code)
    try:
        with pytest.raises(RuntimeError, match=message) as failure:
            wait_until_ready(server, **options)
    finally:
        server.process.kill()
        server.process.wait()
    assert "readiness: ConnectError" in str(failure.value)
    assert str(failure.value).rstrip().endswith(("waiting", "busy"))
