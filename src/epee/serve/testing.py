"""A real ``epee serve`` process on a free loopback port, for integration tests and load benchmarks.

The child inherits the environment (so ``PYTHONPATH`` and ``HF_HUB_OFFLINE`` carry over) and runs
the same interpreter as the caller. Waiting for it has no fixed deadline: on a loaded machine
importing torch and loading a checkpoint can take minutes, so the wait gives up only when the
process exited, or stopped using the CPU for ``stall_seconds`` without becoming ready (stuck), or
after ``startup_seconds`` in all.
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
    startup_seconds: float = 1800,
    stall_seconds: float = 120,
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
        wait_until_ready(server, startup_seconds, stall_seconds)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_ready(server: ServerProcess, startup_seconds: float = 1800, stall_seconds: float = 120) -> None:
    """Poll the readiness route until it answers 200, for as long as the server is alive and working.

    Raises :class:`RuntimeError` with the log's tail (which never holds an input: the server logs no
    text) when the process exits, when its CPU time has not grown for ``stall_seconds`` while the
    route still does not answer 200, or after ``startup_seconds`` in all.
    """
    started = time.monotonic()
    last_cpu, last_progress = _cpu_seconds(server.process.pid), started
    last_answer = "no answer yet"
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(_failure(server, f"exited with code {server.process.returncode} before it was ready"))
        try:
            response = httpx.get(server.url + "/v2/health/ready", timeout=5)
            if response.status_code == 200:
                return
            last_answer = f"status {response.status_code}"
        except httpx.TransportError as error:
            last_answer = type(error).__name__
        now = time.monotonic()
        cpu = _cpu_seconds(server.process.pid)
        if cpu is None or last_cpu is None or cpu > last_cpu:
            last_cpu, last_progress = cpu, now
        elif now - last_progress > stall_seconds:
            stuck = f"used no CPU for {stall_seconds:g} s and is not ready (readiness: {last_answer}): stuck"
            raise RuntimeError(_failure(server, stuck))
        if now - started > startup_seconds:
            raise RuntimeError(
                _failure(server, f"was not ready after {startup_seconds:g} s (readiness: {last_answer})")
            )
        time.sleep(0.2)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, from ``/proc``; None where there is no ``/proc``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _failure(server: ServerProcess, what: str) -> str:
    return f"epee serve (pid {server.process.pid}, {server.url}) {what}; the end of its log:\n{server.log()[-3000:]}"
