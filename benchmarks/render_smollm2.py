"""The SmolLM2-135M section of ``BENCHMARKS.md``, from the JSON ``benchmarks.smollm2`` writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from epee.formatting import format_params
from epee.table import Table, to_markdown

FEW_STEPS = 50
NOT_LEARNED = "Learned: no (every calibrated setting is degenerate on dev)."
SMOLLM2_DIR = Path(__file__).resolve().parent / "results" / "smollm2"


def load_smollm2(results_dir: Path = SMOLLM2_DIR) -> list[dict]:
    return sorted((json.loads(path.read_text()) for path in results_dir.glob("*.json")), key=lambda r: r["dataset"])


def smollm2_section(results: Sequence[dict]) -> list[str]:
    if not results:
        return []
    lines = [
        "## SmolLM2-135M: a real 30-layer decoder (`--backbone smollm2-135m`)",
        "",
        "LoRA-trained exits after every layer of SmolLM2-135M-Instruct, trained by the CLI with settings sized for a",
        "shared 2-core CPU (one thread, `nice -n 10`, beside other work), so these are small, short runs:",
        "",
        "```bash",
        "epee train --backbone smollm2-135m --dataset NAME --max-examples 240 --max-length 64 --epochs 1 \\",
        "    --batch-size 16 --learning-rate 1e-3 --head-learning-rate 3e-3 --time-budget-minutes 14 \\",
        "    --output runs/NAME",
        "python -m benchmarks.smollm2 runs/NAME --wallclock-rows 32 --repeats 3",
        "```",
        "",
        "Each policy is calibrated on dev (fastest within 1 point of the last exit, degenerate settings excluded) and",
        "applied to test. Wall clock (batch 32, median ratio of interleaved rounds, slowest-fastest round in",
        "brackets) compares the plain Hugging Face model with epee's loop through all 30 layers (the cost of 30 exit",
        "heads and policy steps) and with the policy dev selected.",
        "",
    ]
    for result in results:
        training, selected, wallclock = result["training"], result["selected"], result["wallclock"]
        sizes = " / ".join(str(result["sizes"][split]) for split in ("train", "dev", "test"))
        per_exit = ", ".join(_points(value) for value in result["per_exit_test"])
        lines += [
            f"### {result['dataset']} (SmolLM2-135M)",
            "",
            f"Train / dev / test {sizes}, max length {result['max_length']}, LoRA r={result['peft']['r']}; "
            f"training {training['steps']} steps in {training['seconds']:.0f} s"
            + (f" (stopped by {training['stopped_by']})" if training.get("stopped_by") else "")
            + f" on {result['machine']['threads']} thread(s) of a shared machine, {result['machine']['date']}. "
            + ("Learned: yes." if result["learned"] else NOT_LEARNED),
            "",
            f"Test {result['metric']} per exit (layers 1-{result['num_layers']}): {per_exit}. "
            f"Oracle: {result['oracle_test_layer_speedup']:.2f}x on test." + _barely_trained(result),
            "",
            f"Calibrated on dev: **{selected['policy']}** ({format_params(selected['params'])}): dev "
            f"{_points(selected['dev_metric'])}, test {_points(selected['test_metric'])} "
            f"({100 * (selected['test_metric'] - result['per_exit_test'][-1]):+.2f} vs the last exit), "
            f"layer speed-up {selected['layer_speedup']:.2f}x, FLOPs {selected['flops_speedup']:.2f}x; "
            f"wall clock {_range(wallclock['selected'])} over the plain model; epee through all "
            f"{result['num_layers']} layers "
            f"{_range(wallclock['all_layers'])} ({wallclock['rows']} test rows, {wallclock['repeats']} rounds)."
            + (f" Degenerate on test: {selected['degenerate']}." if selected.get("degenerate") else ""),
            "",
        ]
        rows = tuple(
            (
                policy["policy"],
                format_params(policy["params"]),
                _points(policy["dev_metric"]),
                _points(policy["test_metric"]),
                f"{100 * (policy['test_metric'] - result['per_exit_test'][-1]):+.2f}",
                f"{policy['layer_speedup']:.2f}x",
                f"{policy['flops_speedup']:.2f}x",
                policy.get("degenerate") or "-",
            )
            for policy in result["policies"]
        )
        headers = ("policy", "parameters", "dev metric", "test metric", "vs last exit", "layer", "FLOPs", "degenerate")
        lines += [to_markdown(Table(headers=headers, rows=rows, numeric_from=2)), ""]
    return lines


def _barely_trained(result: dict) -> str:
    """Said beside the per-exit metrics of a run too short to train the exits, so its speed-ups are not misread."""
    steps, per_exit = result["training"]["steps"], result["per_exit_test"]
    if steps >= FEW_STEPS:
        return ""
    return (
        f" Only {steps} optimizer steps: the exits are barely trained (last exit {_points(per_exit[-1])}, best exit "
        f"{_points(max(per_exit))}), so the speed-ups below show what the runtime delivers at "
        "the selected mean exit layer, not the trade-off of a well-trained SmolLM2."
    )


def _range(estimate: dict) -> str:
    return f"{estimate['median']:.2f}x [{estimate['low']:.2f}-{estimate['high']:.2f}]"


def _points(value: float) -> str:
    return f"{100 * value:.2f}"
