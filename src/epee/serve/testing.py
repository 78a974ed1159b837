"""A real ``epee serve`` process on a free loopback port, for integration tests and load benchmarks.

The child inherits the environment (so ``PYTHONPATH`` and ``HF_HUB_OFFLINE`` carry over) and runs
the same interpreter as the caller.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(
    checkpoint: Path,
    log_path: Path,
    options: Sequence[str] = (),
    env: dict[str, str] | None = None,
    command_prefix: Sequence[str] = (),
    startup_seconds: float = 120,
) -> Iterator[ServerProcess]:
    """Start ``epee serve CHECKPOINT`` and wait until it is ready; stop it (SIGTERM) on exit."""
    port = free_port()
    command = [
        *command_prefix,
        sys.executable,
        "-c",
        "from epee.cli.main import app; app()",
        "serve",
        str(checkpoint),
        "--port",
        str(port),
        *options,
    ]
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        **(env or {}),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_ready(server, startup_seconds)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(server: ServerProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"epee serve exited with {server.process.returncode}:\n{server.log()[-3000:]}")
        try:
            if httpx.get(server.url + "/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"epee serve was not ready after {seconds} s:\n{server.log()[-3000:]}")
