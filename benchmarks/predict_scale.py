"""Scoring a large archive: peak memory of streaming ``epee predict``, and rows/s in one process vs Ray Data.

    python -m benchmarks.predict_scale memory --rows 10000 500000
    python -m benchmarks.predict_scale throughput --rows 20000 --rounds 3

A tiny random BERT (3 layers, hidden 32, the MiniLM tokenizer) is saved to a scratch folder, so the
figures measure epee's reading, batching, writing and Ray's overheads rather than a large model's
arithmetic (a real model makes per-row cost larger, which only helps the parallel engines).

* ``memory``: each size runs ``epee predict`` in a fresh process (so peak RSS is that run's own,
  ``ru_maxrss``); the issue's bound is a difference below 15% between 10k and 500k rows.
* ``throughput``: one process (``--engine torch``) against ``--engine ray`` with 1 and 2 workers on a
  local Ray, in interleaved rounds; Ray's start-up (``ray.init`` and actor start) is inside its wall clock,
  as a user pays it. Results go to ``benchmarks/results/predict_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from epee.atomic import write_text_atomically

RESULTS = Path(__file__).parent / "results" / "predict_scale.json"
WORDS = "aspirin helps pain no effect rash nausea dose daily worse better sleep headache tablet mg".split()


def _checkpoint(folder: Path) -> Path:
    import torch
    from transformers import AutoModel, BertConfig

    from epee.models import MultiExitModel
    from epee.models.backbones import load_tokenizer

    torch.manual_seed(0)
    tokenizer = load_tokenizer("minilm")
    sizes = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=37)
    config = BertConfig(vocab_size=tokenizer.vocab_size, **sizes)
    model = MultiExitModel.from_backbone(
        AutoModel.from_config(config), label_names=["a", "b", "c"], tokenizer=tokenizer
    )
    model.save_pretrained(folder / "checkpoint")
    return folder / "checkpoint"


def _input(folder: Path, rows: int, suffix: str = ".csv") -> Path:
    """``rows`` texts of 1-40 words, written as CSV (or Parquet), in a stable random order."""
    rng = random.Random(rows)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))) for _ in range(rows)]
    path = folder / f"in-{rows}{suffix}"
    if suffix == ".parquet":
        import pyarrow
        import pyarrow.parquet

        pyarrow.parquet.write_table(pyarrow.table({"text": texts}), path)
    else:
        path.write_text("text\n" + "\n".join(texts) + "\n")
    return path


CHILD = """
import resource, sys, time
from epee.cli.main import app
started = time.perf_counter()
try:
    app(sys.argv[1:])
except SystemExit as done:
    if done.code:
        raise
print("RESULT", time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
"""


def _run(arguments: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one ``epee`` command in a fresh process."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TQDM_DISABLE="1")
    done = subprocess.run([sys.executable, "-c", CHILD, *arguments], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"epee {' '.join(arguments)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    line = [line for line in done.stdout.splitlines() if line.startswith("RESULT")][-1].split()
    return float(line[1]), int(line[2])


def _predict(checkpoint: Path, data: Path, output: Path, *extra: str) -> list[str]:
    return ["predict", str(checkpoint), str(data), "-o", str(output), "--overwrite", *extra]


def memory(rows: list[int], folder: Path) -> dict:
    checkpoint = _checkpoint(folder)
    results = {}
    for count in rows:
        data = _input(folder, count)
        seconds, peak = _run(_predict(checkpoint, data, folder / "out.jsonl"))
        results[str(count)] = {"seconds": round(seconds, 1), "peak_rss_mib": round(peak / 1024, 1)}
        print(f"{count:>8} rows: peak RSS {peak / 1024:.0f} MiB, {seconds:.1f} s ({count / seconds:.0f} rows/s)")
    peaks = [entry["peak_rss_mib"] for entry in results.values()]
    results["difference"] = round(max(peaks) / min(peaks) - 1, 3)
    print(f"largest vs smallest peak: +{results['difference']:.1%}")
    return results


def throughput(rows: int, rounds: int, folder: Path) -> dict:
    checkpoint = _checkpoint(folder)
    data = _input(folder, rows, ".parquet")
    engines = {
        "single process": [],
        "ray, 1 worker": ["--engine", "ray", "--num-workers", "1"],
        "ray, 2 workers": ["--engine", "ray", "--num-workers", "2"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for round_number in range(rounds):
        order = list(engines)
        random.Random(round_number).shuffle(order)  # interleaved, in a new order each round
        for name in order:
            wall, _ = _run(_predict(checkpoint, data, folder / "out.jsonl", *engines[name]))
            seconds[name].append(wall)
            print(f"round {round_number + 1}: {name}: {rows / wall:.0f} rows/s ({wall:.1f} s)")
    engines_result = {
        name: {
            "rows_per_second_median": round(rows / sorted(times)[len(times) // 2]),
            "rows_per_second_range": [round(rows / max(times)), round(rows / min(times))],
            "seconds": [round(time_, 1) for time_ in times],
        }
        for name, times in seconds.items()
    }
    return {"engines": engines_result, "driver_write_rows_per_second": round(_driver_write_rate())}


def _driver_write_rate(rows: int = 200_000) -> float:
    """Rows/s of what the Ray driver does per row: build the output record and write it as a JSON line."""
    from epee.runtime.predict_file import column_records
    from epee.runtime.table_io import encode_records

    keys = [{"row": number} for number in range(1, rows + 1)]
    probabilities = [[0.2, 0.3, 0.5]] * rows
    started = time.perf_counter()
    records = column_records(keys, ["c"] * rows, probabilities, [2] * rows, ["a", "b", "c"])
    encode_records(Path("out.jsonl"), records, header=True)
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["memory", "throughput"])
    parser.add_argument("--rows", type=int, nargs="+", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if arguments.kind == "memory":
            result = memory(arguments.rows or [10_000, 500_000], folder)
        else:
            result = throughput((arguments.rows or [20_000])[0], arguments.rounds, folder)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    stored[arguments.kind] = {
        "result": result,
        "command": "python -m benchmarks.predict_scale " + " ".join(sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_end": round(os.getloadavg()[0], 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    write_text_atomically(RESULTS, json.dumps(stored, indent=1) + "\n")


if __name__ == "__main__":
    main()
