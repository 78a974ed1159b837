"""The training-speed section of ``BENCHMARKS.md``, from ``benchmarks/results/train_throughput.jsonl``
and ``benchmarks/results/bf16_quality.jsonl`` (the latest run of each)."""

from __future__ import annotations

import json
from pathlib import Path

from epee.table import Table, to_markdown

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 2.0  # issue 12: at least twice the training throughput of the loop before bucketing and bf16


def _latest(path: Path) -> dict | None:
    if not path.is_file():
        return None
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def training_section(results_dir: Path = RESULTS) -> list[str]:
    throughput = _latest(results_dir / "train_throughput.jsonl")
    quality = _latest(results_dir / "bf16_quality.jsonl")
    if throughput is None and quality is None:
        return []
    lines = ["## Training speed (`python -m benchmarks.train_throughput`)", ""]
    if throughput is not None:
        lines += _throughput_lines(throughput)
    if quality is not None:
        lines += _quality_lines(quality)
    return lines


def _throughput_lines(run: dict) -> list[str]:
    after = run["arms"].get("after")
    load = ", ".join(f"{value:.1f}" for value in run["load_average"])
    lines = [
        f"{run['dataset']}, {run['rows']} training rows, MiniLM-L6 + LoRA, batch {run['batch_size']}, max length "
        f"{run['max_length']}, {run['threads']} thread(s), {run['steps']} steps per arm in {run['rounds']} "
        f"interleaved rounds of random order ({run['when']}, load average {load} while timing: the machine was "
        "shared, so absolute samples/s are low; the ratios are within a round).",
        "",
    ]
    rows = []
    for name, arm in run["arms"].items():
        low, high = arm["speedup_range"]
        rows.append((name, f"{arm['samples_per_second']:.1f}", f"{arm['speedup_median']:.2f}x ({low:.2f}-{high:.2f})"))
    headers = ("arm", "samples/s (median)", "speed-up over before (median, range)")
    lines += [to_markdown(Table(headers=headers, rows=tuple(rows), numeric_from=1)), ""]
    if after is not None:
        met = "met" if after["speedup_range"][0] >= TARGET else "not met in every round"
        lines += [f"Target: >= {TARGET:.0f}x training throughput: {met} (median {after['speedup_median']:.2f}x).", ""]
    return lines


def _quality_lines(run: dict) -> list[str]:
    fp32, bf16 = run["arms"]["fp32"]["dev_exit_metrics"], run["arms"]["bf16"]["dev_exit_metrics"]
    points = [100 * (b - f) for b, f in zip(bf16, fp32, strict=True)]
    exits = tuple(f"exit {number}" for number in range(1, len(fp32) + 1))
    rows = (
        ("fp32", *(f"{100 * value:.1f}" for value in fp32), f"{100 * sum(fp32) / len(fp32):.1f}"),
        ("bf16", *(f"{100 * value:.1f}" for value in bf16), f"{100 * sum(bf16) / len(bf16):.1f}"),
        ("bf16 - fp32", *(f"{value:+.1f}" for value in points), f"{sum(points) / len(points):+.1f}"),
    )
    return [
        f"bf16 against fp32 (`python -m benchmarks.bf16_quality`): {run['dataset']}, {run['train']} training / "
        f"{run['dev']} dev rows, {run['epochs']} epochs, same batches; dev {run['metric']} per exit of the kept "
        "evaluation:",
        "",
        to_markdown(Table(headers=("precision", *exits, "mean"), rows=rows, numeric_from=1)),
        "",
    ]
