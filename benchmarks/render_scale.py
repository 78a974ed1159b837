"""The "Scoring a large archive" section of ``BENCHMARKS.md``, from ``benchmarks/results/predict_scale.json``.

Targets (issue 16): peak RSS of streaming ``epee predict`` on 500k rows within 15% of 10k rows; rows/s of
one process against ``--engine ray`` with 1 and 2 workers on this machine, with a paper estimate for N
machines. The section says plainly whether the memory target was met.
"""

from __future__ import annotations

import json
from pathlib import Path

from epee.table import Table, to_markdown

SCALE_RESULTS = Path(__file__).resolve().parent / "results" / "predict_scale.json"
MEMORY_TARGET = 0.15


def scale_section(path: Path = SCALE_RESULTS) -> list[str]:
    if not path.is_file():
        return []
    results = json.loads(path.read_text())
    lines = ["## Scoring a large archive (`epee predict` streaming and `--engine ray`)", ""]
    if "memory" in results:
        lines += _memory_lines(results["memory"])
    if "throughput" in results:
        lines += _throughput_lines(results["throughput"])
    return lines


def _context(entry: dict) -> str:
    return (
        f"`{entry['command']}` on {entry['date']}, {entry['machine']}, shared with other jobs "
        f"(load average {entry['load_average_at_end']} at the end)"
    )


def _memory_lines(entry: dict) -> list[str]:
    result = entry["result"]
    sizes = [key for key in result if key != "difference"]
    rows = [
        (f"{int(size):,}", f"{result[size]['peak_rss_mib']:.0f}", f"{result[size]['seconds']:.0f}") for size in sizes
    ]
    table = Table(("rows", "peak RSS (MiB)", "seconds"), tuple(rows), numeric_from=0)
    met = "met" if result["difference"] < MEMORY_TARGET else "NOT met"
    return [
        "Peak RSS of one `epee predict` process (tiny random BERT, default `--chunk-rows 4096`), from "
        f"{_context(entry)}.",
        "",
        to_markdown(table),
        "",
        f"Largest vs smallest peak: +{result['difference']:.1%} (target < {MEMORY_TARGET:.0%}: {met}).",
        "",
    ]


def _throughput_lines(entry: dict) -> list[str]:
    rows = []
    for name, cell in entry["result"]["engines"].items():
        low, high = cell["rows_per_second_range"]
        seconds = ", ".join(f"{value:g}" for value in cell["seconds"])
        rows.append((name, str(cell["rows_per_second_median"]), f"{low}-{high}", seconds))
    table = Table(("engine", "rows/s (median)", "range over rounds", "seconds per round"), tuple(rows), numeric_from=1)
    return [
        f"Rows/s of the whole command (process start, model load and, for Ray, `ray.init` and actor start-up "
        f"included), from {_context(entry)}; engines interleaved in a new order each round. On a 2-core machine "
        "busy with other jobs these are not speed figures to quote, only the shape: Ray's fixed start-up cost "
        "against its per-row parallelism.",
        "",
        to_markdown(table),
        "",
        *_estimate(entry["result"]["driver_write_rows_per_second"]),
    ]


def _estimate(driver_rate: float) -> list[str]:
    """The paper estimate for N machines, around the one figure it needs: the driver's writing rate."""
    return [
        "**N machines, on paper.** What scales: the model, the only per-row cost that grows with a real backbone,",
        "runs in the actors (one CPU each, one checkpoint load each), and Ray Data reads the input in parallel",
        "where it is split (several files or Parquet row groups). What does not: the driver, which receives every",
        "prediction in input order and writes one file. Its writing alone ran at "
        f"{driver_rate:,.0f} rows/s here (JSON lines,",
        "one core, the tiny model's three labels; same command). With W workers of r rows/s each a run goes at",
        f"about min(W x r, {driver_rate:,.0f}) rows/s: a model that predicts r rows/s per core stops scaling near",
        f"W = {driver_rate:,.0f} / r workers (for r = 100, about {driver_rate / 100:,.0f}). Beyond that, write one",
        "file per block on the workers (Ray Data's `write_parquet`, as in the README's Python example) instead of",
        "one ordered file. Fixed costs, paid once per run: Ray start-up and one checkpoint load per actor (seconds),",
        "which is why Ray is slower than one process on a small file like this one; against an archive of",
        "millions of rows they vanish. Keeping input order costs driver memory only when one block lags (bounded",
        "by the blocks in flight, not the file).",
        "",
    ]
