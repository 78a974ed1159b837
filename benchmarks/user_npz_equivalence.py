"""PneumoniaMNIST as a user's file: train through ``--data`` on an npz built from the registered split, and
compare every per-exit metric with the registered path at the same seed (issue 18's "second real image set").

    python -m benchmarks.user_npz_equivalence --output runs/npz-equivalence [--max-examples 500 --max-steps 60]

Writes ``user.npz`` (train_images / train_labels / val_* / test_* and label_names, as a user would save
them), trains both checkpoints with ``epee train`` (one after the other in this process: the second sees
whatever global random state the first left, so equal results show that a seed fixes a run), scores every
exit of each on dev and test as ``epee evaluate`` does, prints the tables and whether they are identical,
and writes them to ``benchmarks/results/user_npz_equivalence.json`` for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from benchmarks.render import write_benchmarks_md
from benchmarks.render_equivalence import EQUIVALENCE_JSON
from benchmarks.suite import machine
from epee.cli.main import app
from epee.data import load_dataset
from epee.workflow.checkpoint_data import load_checkpoint_and_data
from epee.workflow.exit_table import exit_metric_table


def write_user_npz(path: Path) -> None:
    """The registered splits saved as a user would save their own: MedMNIST keys, class ids, label names."""
    dataset = load_dataset("pneumoniamnist")
    arrays = {"label_names": np.array(dataset.label_names)}
    for split, prefix in (("train", "train"), ("dev", "val"), ("test", "test")):
        examples = getattr(dataset, split)
        arrays[f"{prefix}_images"] = np.stack([example.image for example in examples])
        arrays[f"{prefix}_labels"] = np.array([[dataset.label_names.index(example.labels[0])] for example in examples])
    np.savez(path, **arrays)


def per_exit(checkpoint: Path, split: str) -> dict[str, list[float]]:
    model, dataset = load_checkpoint_and_data(checkpoint, {})
    return exit_metric_table(model, dataset, split, None).metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--max-examples", type=int, default=500)
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    arguments.output.mkdir(parents=True, exist_ok=True)
    user_file = arguments.output / "user.npz"
    write_user_npz(user_file)
    common = ["--max-examples", str(arguments.max_examples), "--max-steps", str(arguments.max_steps)]
    common += ["--seed", str(arguments.seed)]
    sources = {
        "registered": ["--dataset", "pneumoniamnist"],
        "user npz": ["--data", str(user_file), "--metric", "balanced_accuracy"],
    }
    tables = {}
    for name, source in sources.items():
        checkpoint = arguments.output / name.replace(" ", "-")
        result = CliRunner().invoke(app, ["train", *source, *common, "-o", str(checkpoint)])
        if result.exit_code != 0:
            raise SystemExit(f"{name}: epee train failed:\n{result.output}")
        tables[name] = {split: per_exit(checkpoint, split) for split in ("dev", "test")}
    print(json.dumps(tables, indent=1))
    same = tables["registered"] == tables["user npz"]
    print(f"identical per-exit metrics on dev and test: {same}")
    settings = {"max_examples": arguments.max_examples, "max_steps": arguments.max_steps, "seed": arguments.seed}
    result = {"settings": settings, "tables": tables, "identical": same, "machine": machine()}
    staging = EQUIVALENCE_JSON.with_suffix(".json.partial")
    staging.write_text(json.dumps(result, indent=1) + "\n")
    staging.replace(EQUIVALENCE_JSON)
    print(f"Wrote {EQUIVALENCE_JSON} and {write_benchmarks_md()}.")


if __name__ == "__main__":
    main()
