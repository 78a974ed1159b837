"""Cache the all-exit logits of a trained checkpoint on its dev and test splits, for the risk simulation.

    python -m benchmarks.risk_logits CHECKPOINT [CHECKPOINT ...] --output-dir runs/risk/logits [--dataset NAME]

One ``<dataset>.npz`` per checkpoint, named by the dataset its recipe records: ``dev_logits`` and
``test_logits`` ``[exits, examples, labels]``, ``dev_labels`` and ``test_labels``, ``exit_layers``,
``num_layers``, ``multi_label``, and the metric per example row: ``metric`` (a name of
``epee.tasks.metrics.SIMPLE_METRICS``, or ``micro_f1_excluding_negative`` with ``negative`` the class id
left out; HoC's abstract-level F1 becomes sentence-level micro-F1, since random halves split abstracts).
Logits and labels only: no text leaves the data files.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from epee.models.inputs import encode_split, featurizer_for
from epee.runtime.exit_logits import collect_exit_logits
from epee.workflow.checkpoint_data import load_checkpoint_and_data

logger = logging.getLogger("benchmarks.risk_logits")


def cache_logits(checkpoint: Path, output_dir: Path, *, dataset: str | None = None, batch_size: int = 64) -> Path:
    """Write ``output_dir/<dataset>.npz`` for ``checkpoint`` (see the module docstring) and return its path.

    ``dataset`` names the registered dataset of a checkpoint that recorded none (the demo's).
    """
    model, dataset = load_checkpoint_and_data(checkpoint, {"dataset": dataset})
    model.merge_peft()
    featurizer = featurizer_for(model)
    arrays = {"exit_layers": np.asarray(model.exit_layers), "num_layers": np.asarray(model.num_layers)}
    arrays["multi_label"] = np.asarray(model.config.multi_label)
    metric = "multilabel_micro_f1" if dataset.metric == "hoc_abstract_f1" else dataset.metric
    negative = dataset.label_names.index(dataset.negative_label) if dataset.negative_label else -1
    arrays["metric"], arrays["negative"] = np.asarray(metric), np.asarray(negative)
    for name, examples in (("dev", dataset.dev), ("test", dataset.test)):
        split = encode_split(featurizer, examples, model)
        arrays[f"{name}_logits"] = collect_exit_logits(model, featurizer, split, batch_size=batch_size).numpy()
        arrays[f"{name}_labels"] = split.labels.numpy()
    target = output_dir / f"{dataset.name}.npz"
    output_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.npz")
    np.savez_compressed(partial, **arrays)
    partial.replace(target)  # a cache, not a user file: a rename suffices to never leave half of one
    logger.info("%s: dev %d, test %d rows -> %s", dataset.name, len(dataset.dev), len(dataset.test), target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--dataset", help="the registered dataset, for checkpoints that recorded none")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for checkpoint in arguments.checkpoints:
        cache_logits(checkpoint, arguments.output_dir, dataset=arguments.dataset)


if __name__ == "__main__":
    main()
