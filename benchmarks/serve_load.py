"""Load benchmark of ``epee serve``: N concurrent single-text clients on loopback for a fixed time.

    python -m benchmarks.serve_load [--checkpoint /work/runs/demo/checkpoint] [--seconds 8] [--rounds 3]
        [--schedules batch,layer] [--server-core 1] [--client-core 0]

In one run, with cells in a random order per round: (a) the checkpoint's calibrated policy and
(b) ``full_depth`` on the same server, at 1, 8, 32 and 128 clients, on one server per ``--schedule``;
plus offline ``predict`` at batch 32 (the path ``epee predict`` takes) under both, in this process.
The servers and the offline cells share one core (``taskset``, one torch thread); the clients run
on another. Reports rows/s, p50/p95/p99 latency and errors per cell, and the ratios the issue sets
targets for, as medians over rounds with their spread.

It also counts the CPU seconds the server process (from ``/proc``) and the offline cells
(``process_time``) spent, so each path has rows per CPU-second too: on a machine shared with other
jobs the wall-clock rate says how much of the core a path got, the CPU rate what it does with it.
Writes ``benchmarks/results/serve/load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path

import httpx
import numpy as np
import torch

from epee.data import load_dataset
from epee.models import MultiExitModel
from epee.policies import make_policy
from epee.runtime import predict
from epee.runtime.predict import resolve_policy
from epee.serve.testing import running_server

RESULT = Path(__file__).resolve().parent / "results" / "serve" / "load.json"
MODEL_CORE, CLIENT_CORE = 1, 0
OFFLINE_CHUNK = 64  # two batches of 32 per predict call


async def _load_cell(url: str, texts: list[str], clients: int, seconds: float, full_depth: bool) -> dict:
    """``clients`` loops, each posting one text at a time until the time is up."""
    latencies: list[float] = []
    exit_layers: list[int] = []
    errors: Counter = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        deadline = time.perf_counter() + seconds

        async def one_client(offset: int) -> None:
            index = offset
            while time.perf_counter() < deadline:
                body = {"inputs": texts[index % len(texts)], "parameters": {"full_depth": full_depth}}
                started = time.perf_counter()
                try:
                    response = await client.post("/predict", json=body)
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                    continue
                if response.status_code != 200:
                    errors[f"status {response.status_code}"] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                exit_layers.append(response.json()[0]["exit_layer"])
                index += clients

        started = time.perf_counter()
        await asyncio.gather(*(one_client(offset) for offset in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "rows": len(latencies),
        "seconds": elapsed,
        "errors": errors,
        "latencies": latencies,
        "exit_layers": exit_layers,
    }


def _offline_cell(model: MultiExitModel, texts: list[str], policy, seconds: float, cores: tuple[int, int]) -> dict:
    """``predict`` at batch 32 over successive chunks of the texts until the time is up, on the server's core."""
    model_core, client_core = cores
    os.sched_setaffinity(0, {model_core})
    rows, layers, index = 0, 0.0, 0
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds:
            chunk = [texts[(index + offset) % len(texts)] for offset in range(OFFLINE_CHUNK)]
            result = predict(model, chunk, policy=policy, batch_size=32)
            rows, layers, index = rows + len(chunk), layers + float(result.exit_layer.sum()), index + OFFLINE_CHUNK
        elapsed, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        os.sched_setaffinity(0, {client_core})
    return {"rows": rows, "seconds": elapsed, "cpu_seconds": cpu_seconds, "mean_exit_layer": layers / rows}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads, from ``/proc/PID/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _batch_histogram(url: str) -> tuple[float, float]:
    """(batches, rows) so far, from the server's own ``epee_batch_size`` histogram."""
    text = httpx.get(url + "/metrics", timeout=60).text
    values = dict(re.findall(r"^epee_batch_size_(count|sum) (\S+)$", text, re.M))
    return float(values["count"]), float(values["sum"])


def _summary(cells: list[dict], num_layers: int) -> dict:
    latencies = np.array([value for cell in cells for value in cell["latencies"]]) * 1000
    layers = [value for cell in cells for value in cell["exit_layers"]]
    rates = [cell["rows"] / cell["seconds"] for cell in cells]
    cpu_rates = [cell["rows"] / cell["cpu_seconds"] for cell in cells]
    return {
        "rows_per_second": statistics.median(rates),
        "rows_per_second_per_round": rates,
        "rows_per_cpu_second": statistics.median(cpu_rates),
        "rows_per_cpu_second_per_round": cpu_rates,
        "server_cores_busy": statistics.median(cell["cpu_seconds"] / cell["seconds"] for cell in cells),
        "p50_ms": float(np.percentile(latencies, 50)) if len(latencies) else None,
        "p95_ms": float(np.percentile(latencies, 95)) if len(latencies) else None,
        "p99_ms": float(np.percentile(latencies, 99)) if len(latencies) else None,
        "requests": int(len(latencies)),
        "errors": sum(sum(cell["errors"].values()) for cell in cells),
        "error_kinds": dict(sum((Counter(cell["errors"]) for cell in cells), Counter())),
        "layer_speedup": num_layers / statistics.fmean(layers) if layers else None,
        "mean_batch_rows": sum(cell["batched_rows"] for cell in cells) / max(1, sum(cell["batches"] for cell in cells)),
    }


def _ratio(numerators: list[float], denominators: list[float]) -> dict:
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios), "per_round": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("/work/runs/demo/checkpoint"))
    parser.add_argument("--seconds", type=float, default=8.0, help="Length of each load cell.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,8,32,128")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="The server's batching wait.")
    parser.add_argument("--schedules", default="batch,layer", help="One server per `epee serve --schedule` value.")
    parser.add_argument("--output", type=Path, default=RESULT, help="Where to write the JSON results.")
    parser.add_argument("--server-core", type=int, default=MODEL_CORE, help="Core of the servers and offline cells.")
    parser.add_argument("--client-core", type=int, default=CLIENT_CORE, help="Core of the load clients.")
    args = parser.parse_args()
    cores = (args.server_core, args.client_core)
    client_counts = [int(value) for value in args.clients.split(",")]
    schedules = args.schedules.split(",")
    rng = random.Random(args.seed)
    torch.set_num_threads(1)
    os.sched_setaffinity(0, {args.client_core})

    texts = [example.text for example in load_dataset("drugreview", seed=42).test]
    model = MultiExitModel.from_pretrained(args.checkpoint)
    model.merge_peft()
    calibrated = resolve_policy(model, None)
    full_depth = make_policy("budget", exit_layer=len(model.exit_layers))
    load_before = os.getloadavg()

    cells: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        server_env = {"OMP_NUM_THREADS": "1"}
        prefix = ["taskset", "-c", str(args.server_core)]
        servers = {}
        for schedule in schedules:
            options = ["--max-wait-ms", str(args.max_wait_ms), "--schedule", schedule]
            log = Path(scratch) / f"server-{schedule}.log"
            servers[schedule] = stack.enter_context(
                running_server(args.checkpoint, log, options, env=server_env, command_prefix=prefix)
            )
        for server in servers.values():
            for full in (False, True):  # warm-up: connections, allocator, first batches
                asyncio.run(_load_cell(server.url, texts, 8, 2.0, full))
        _offline_cell(model, texts, calibrated, 1.0, cores)
        for round_index in range(args.rounds):
            plan = [
                (schedule, mode, clients) for schedule in schedules for mode in ("a", "b") for clients in client_counts
            ]
            plan += [("offline", mode, 32) for mode in ("a", "b")]
            rng.shuffle(plan)
            for kind, mode, clients in plan:
                if kind == "offline":
                    cell = _offline_cell(model, texts, calibrated if mode == "a" else full_depth, args.seconds, cores)
                else:
                    server = servers[kind]
                    before, cpu_before = _batch_histogram(server.url), _cpu_seconds(server.process.pid)
                    cell = asyncio.run(_load_cell(server.url, texts, clients, args.seconds, mode == "b"))
                    cell["cpu_seconds"] = _cpu_seconds(server.process.pid) - cpu_before
                    after = _batch_histogram(server.url)
                    cell["batches"], cell["batched_rows"] = after[0] - before[0], after[1] - before[1]
                cells.setdefault(f"{kind}-{mode}-{clients}", []).append(cell)
                print(f"round {round_index} {kind} {mode} {clients}: {cell['rows'] / cell['seconds']:.1f} rows/s")

    num_layers = model.num_layers
    server_cells = {
        schedule: {
            f"{mode}-{clients}": _summary(cells[f"{schedule}-{mode}-{clients}"], num_layers)
            for mode in ("a", "b")
            for clients in client_counts
        }
        for schedule in schedules
    }
    offline = {}
    for mode in ("a", "b"):
        runs = cells[f"offline-{mode}-32"]
        offline[mode] = {
            "rows_per_second": statistics.median(c["rows"] / c["seconds"] for c in runs),
            "rows_per_second_per_round": [c["rows"] / c["seconds"] for c in runs],
            "rows_per_cpu_second": statistics.median(c["rows"] / c["cpu_seconds"] for c in runs),
            "rows_per_cpu_second_per_round": [c["rows"] / c["cpu_seconds"] for c in runs],
            "layer_speedup": num_layers / runs[0]["mean_exit_layer"],
        }
    ratios = {}
    for rate in ("rows_per_second", "rows_per_cpu_second"):
        unit = "" if rate == "rows_per_second" else "_cpu"
        rounds = f"{rate}_per_round"
        for schedule, by_cell in server_cells.items():
            if 32 in client_counts:
                for mode in ("a", "b"):
                    ratios[f"{schedule}_{mode}32_over_offline_{mode}{unit}"] = _ratio(
                        by_cell[f"{mode}-32"][rounds], offline[mode][rounds]
                    )
            for clients in client_counts:
                ratios[f"{schedule}_a_over_b_{clients}{unit}"] = _ratio(
                    by_cell[f"a-{clients}"][rounds], by_cell[f"b-{clients}"][rounds]
                )
        if {"batch", "layer"} <= set(schedules):
            for mode in ("a", "b"):
                for clients in client_counts:
                    ratios[f"layer_over_batch_{mode}_{clients}{unit}"] = _ratio(
                        server_cells["layer"][f"{mode}-{clients}"][rounds],
                        server_cells["batch"][f"{mode}-{clients}"][rounds],
                    )
        ratios[f"offline_a_over_b{unit}"] = _ratio(offline["a"][rounds], offline["b"][rounds])
    result = {
        "checkpoint": str(args.checkpoint),
        "policy": model.config.policy,
        "num_layers": num_layers,
        "seconds_per_cell": args.seconds,
        "rounds": args.rounds,
        "texts": len(texts),
        "server_options": f"--max-batch-size 32 --max-wait-ms {args.max_wait_ms:g} --max-queue 1024",
        "schedules": schedules,
        "server": server_cells,
        "offline_batch32": offline,
        "ratios": ratios,
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cores_used": {"server_and_offline": args.server_core, "clients": args.client_core},
            "torch_threads": 1,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "cpu_count": os.cpu_count(),
            "versions": {name: version(name) for name in ("torch", "transformers", "fastapi", "uvicorn", "epee")},
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"ratios": {name: round(ratio["median"], 3) for name, ratio in ratios.items()}}, indent=1))


if __name__ == "__main__":
    main()
