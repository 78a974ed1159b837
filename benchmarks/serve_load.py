"""Load benchmark of ``epee serve``: N concurrent single-text clients on loopback for a fixed time.

    python -m benchmarks.serve_load [--checkpoint /work/runs/demo/checkpoint] [--seconds 8] [--rounds 3]

In one run, with cells in a random order per round: (a) the checkpoint's calibrated policy and
(b) ``full_depth`` on the same server, at 1, 8, 32 and 128 clients; plus offline ``predict`` at
batch 32 (the path ``epee predict`` takes) under both, in this process. The server and the offline
cells share one core (``taskset``, one torch thread); the clients run on another. Reports rows/s,
p50/p95/p99 latency and errors per cell, and the ratios the issue sets targets for, as medians over
rounds with their spread. Writes ``benchmarks/results/serve/load.json``.
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


def _offline_cell(model: MultiExitModel, texts: list[str], policy, seconds: float) -> dict:
    """``predict`` at batch 32 over successive chunks of the texts until the time is up."""
    os.sched_setaffinity(0, {MODEL_CORE})
    rows, layers, index = 0, 0.0, 0
    try:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            chunk = [texts[(index + offset) % len(texts)] for offset in range(OFFLINE_CHUNK)]
            result = predict(model, chunk, policy=policy, batch_size=32)
            rows, layers, index = rows + len(chunk), layers + float(result.exit_layer.sum()), index + OFFLINE_CHUNK
        elapsed = time.perf_counter() - started
    finally:
        os.sched_setaffinity(0, {CLIENT_CORE})
    return {"rows": rows, "seconds": elapsed, "mean_exit_layer": layers / rows}


def _batch_histogram(url: str) -> tuple[float, float]:
    """(batches, rows) so far, from the server's own ``epee_batch_size`` histogram."""
    text = httpx.get(url + "/metrics", timeout=60).text
    values = dict(re.findall(r"^epee_batch_size_(count|sum) (\S+)$", text, re.M))
    return float(values["count"]), float(values["sum"])


def _summary(cells: list[dict], num_layers: int) -> dict:
    latencies = np.array([value for cell in cells for value in cell["latencies"]]) * 1000
    layers = [value for cell in cells for value in cell["exit_layers"]]
    rates = [cell["rows"] / cell["seconds"] for cell in cells]
    return {
        "rows_per_second": statistics.median(rates),
        "rows_per_second_per_round": rates,
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
    parser.add_argument("--output", type=Path, default=RESULT, help="Where to write the JSON results.")
    args = parser.parse_args()
    client_counts = [int(value) for value in args.clients.split(",")]
    rng = random.Random(args.seed)
    torch.set_num_threads(1)
    os.sched_setaffinity(0, {CLIENT_CORE})

    texts = [example.text for example in load_dataset("drugreview", seed=42).test]
    model = MultiExitModel.from_pretrained(args.checkpoint)
    model.merge_peft()
    calibrated = resolve_policy(model, None)
    full_depth = make_policy("budget", exit_layer=len(model.exit_layers))
    load_before = os.getloadavg()

    cells: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        server_env = {"OMP_NUM_THREADS": "1"}
        prefix = ["taskset", "-c", str(MODEL_CORE)]
        options = ["--max-wait-ms", str(args.max_wait_ms)]
        log = Path(scratch) / "server.log"
        with running_server(args.checkpoint, log, options, env=server_env, command_prefix=prefix) as server:
            for full in (False, True):  # warm-up: connections, allocator, first batches
                asyncio.run(_load_cell(server.url, texts, 8, 2.0, full))
            _offline_cell(model, texts, calibrated, 1.0)
            for round_index in range(args.rounds):
                plan = [("server", mode, clients) for mode in ("a", "b") for clients in client_counts]
                plan += [("offline", mode, 32) for mode in ("a", "b")]
                rng.shuffle(plan)
                for kind, mode, clients in plan:
                    if kind == "server":
                        before = _batch_histogram(server.url)
                        cell = asyncio.run(_load_cell(server.url, texts, clients, args.seconds, mode == "b"))
                        after = _batch_histogram(server.url)
                        cell["batches"], cell["batched_rows"] = after[0] - before[0], after[1] - before[1]
                    else:
                        policy = calibrated if mode == "a" else full_depth
                        cell = _offline_cell(model, texts, policy, args.seconds)
                    cells.setdefault(f"{kind}-{mode}-{clients}", []).append(cell)
                    print(f"round {round_index} {kind} {mode} {clients}: {cell['rows'] / cell['seconds']:.1f} rows/s")

    num_layers = model.num_layers
    server_cells = {
        f"{mode}-{clients}": _summary(cells[f"server-{mode}-{clients}"], num_layers)
        for mode in ("a", "b")
        for clients in client_counts
    }
    offline = {
        mode: {
            "rows_per_second": statistics.median(c["rows"] / c["seconds"] for c in cells[f"offline-{mode}-32"]),
            "rows_per_second_per_round": [c["rows"] / c["seconds"] for c in cells[f"offline-{mode}-32"]],
            "layer_speedup": num_layers / cells[f"offline-{mode}-32"][0]["mean_exit_layer"],
        }
        for mode in ("a", "b")
    }
    ratios = {}
    if 32 in client_counts:
        a32 = server_cells["a-32"]["rows_per_second_per_round"]
        ratios["a32_over_offline_a"] = _ratio(a32, offline["a"]["rows_per_second_per_round"])
        ratios["b32_over_offline_b"] = _ratio(
            server_cells["b-32"]["rows_per_second_per_round"], offline["b"]["rows_per_second_per_round"]
        )
    for clients in client_counts:
        ratios[f"a_over_b_{clients}"] = _ratio(
            server_cells[f"a-{clients}"]["rows_per_second_per_round"],
            server_cells[f"b-{clients}"]["rows_per_second_per_round"],
        )
    ratios["offline_a_over_b"] = _ratio(
        offline["a"]["rows_per_second_per_round"], offline["b"]["rows_per_second_per_round"]
    )
    result = {
        "checkpoint": str(args.checkpoint),
        "policy": model.config.policy,
        "num_layers": num_layers,
        "seconds_per_cell": args.seconds,
        "rounds": args.rounds,
        "texts": len(texts),
        "server_options": f"--max-batch-size 32 --max-wait-ms {args.max_wait_ms:g} --max-queue 1024",
        "server": server_cells,
        "offline_batch32": offline,
        "ratios": ratios,
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cores_used": {"server_and_offline": MODEL_CORE, "clients": CLIENT_CORE},
            "torch_threads": 1,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "shared": "yes: about eight engineers ran jobs on the same two cores during the run",
            "versions": {name: version(name) for name in ("torch", "transformers", "fastapi", "uvicorn", "epee")},
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps({"server": {k: v["rows_per_second"] for k, v in server_cells.items()}, "ratios": ratios}, indent=1)
    )


if __name__ == "__main__":
    main()
