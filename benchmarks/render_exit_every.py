"""The "exit heads at full depth" section of ``BENCHMARKS.md``, from the JSON ``benchmarks.exit_every`` writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from epee.table import Table, to_markdown

EXIT_EVERY_DIR = Path(__file__).resolve().parent / "results" / "exit_every"


def load_exit_every(results_dir: Path = EXIT_EVERY_DIR) -> list[dict]:
    return sorted((json.loads(path.read_text()) for path in results_dir.glob("*.json")), key=lambda r: r["backbone"])


def exit_every_section(results: Sequence[dict]) -> list[str]:
    if not results:
        return []
    lines = [
        "## Exit heads at full depth: an exit after every layer vs `--exit-every k`",
        "",
        "Three paths over the same batches of 32, interleaved in random order each round: the plain Hugging Face",
        "model with the last exit head, epee's loop through every layer with an exit (head and policy step) after",
        "each, and the same loop with an exit every k layers; both multi-exit models share one backbone. Figures",
        "are the median over rounds of one path's seconds over another's, slowest and fastest round in brackets.",
        "",
    ]
    for result in results:
        (sparse,) = [name for name in result["exit_layers"] if name != "every_layer"]
        over_plain = result["speedup_over_plain"]
        rows = [
            [f"every layer ({len(result['exit_layers']['every_layer'])} exits)", _ratio(over_plain["every_layer"])],
            [f"{sparse.replace('_', ' ')} ({len(result['exit_layers'][sparse])} exits)", _ratio(over_plain[sparse])],
        ]
        lines += [
            f"### {result['backbone']} ({result['num_layers']} layers)",
            "",
            "```bash",
            f"python -m benchmarks.exit_every --backbone {result['backbone']} --every {sparse.split('_')[1]} "
            f"--rows {result['rows']} --max-length {result['max_length']} --repeats {result['repeats']}",
            "```",
            "",
            f"{result['rows']} rows of up to {result['max_length']} tokens, {result['machine']['threads']} thread(s), "
            f"{result['machine']['date']}.",
            "",
            to_markdown(Table(headers=["epee path", "speed-up over plain HF"], rows=rows, numeric_from=1)),
            "",
            f"{sparse.replace('_', ' ')} over every layer: {_ratio(result['every_k_over_every_layer'])}.",
            "",
        ]
    return lines


def _ratio(figure: dict) -> str:
    return f"{figure['median']:.3f}x [{figure['low']:.3f}-{figure['high']:.3f}]"
