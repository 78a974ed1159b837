"""The "PneumoniaMNIST through --data" section of ``BENCHMARKS.md``, from the JSON ``benchmarks.user_npz_equivalence``
writes: the registered split and the same images saved as a user's ``.npz`` give the same model."""

from __future__ import annotations

import json
from pathlib import Path

from epee.table import Table, to_markdown

EQUIVALENCE_JSON = Path(__file__).resolve().parent / "results" / "user_npz_equivalence.json"
ARMS = ("registered", "user npz")


def load_equivalence(path: Path = EQUIVALENCE_JSON) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def equivalence_section(result: dict | None) -> list[str]:
    if result is None:
        return []
    settings = result["settings"]
    headline = "balanced_accuracy"
    tables = result["tables"]
    exits = len(tables["registered"]["dev"][headline]) - 1  # the last value is the majority-class baseline
    rows = []
    for index in range(exits + 1):
        name = str(index + 1) if index < exits else "majority"
        cells = [f"{100 * tables[arm][split][headline][index]:.2f}" for split in ("dev", "test") for arm in ARMS]
        rows.append([name, *cells])
    headers = ["exit", "dev, registered", "dev, user npz", "test, registered", "test, user npz"]
    table = Table(headers=headers, rows=rows, numeric_from=1)
    verdict = "yes" if result["identical"] else "**no**"
    return [
        "## PneumoniaMNIST through `--data`: the registered split as a user's .npz",
        "",
        "The registered PneumoniaMNIST splits saved as a user would save their own images (MedMNIST keys",
        "`train_images`, `train_labels`, `val_*`, `test_*`, and `label_names`), then a scratch ViT trained by",
        "`epee train` on each source with the same seed, one after the other in one process:",
        "",
        "```bash",
        f"python -m benchmarks.user_npz_equivalence --output runs/npz-eq --max-examples {settings['max_examples']} "
        f"--max-steps {settings['max_steps']} --seed {settings['seed']}",
        "```",
        "",
        f"Balanced accuracy per exit (points; {result['machine']['date']}):",
        "",
        to_markdown(table),
        "",
        f"Every metric of every exit (balanced accuracy, macro-F1, accuracy) identical on dev and test: {verdict}.",
        "",
    ]
