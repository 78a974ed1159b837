"""Every exit's metrics on a split beside the majority-class baseline, and optionally one exit policy's
metric and speed-ups on the same rows: what ``epee evaluate`` prints.

The policy is scored by simulation over the same cached logits (exact: the runtime equivalence tests
prove simulation equals live inference), so scoring it costs nothing beyond the exit table; wall clock
is ``epee report``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epee.calibrate.model_calibration import model_flops
from epee.data import Dataset
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for
from epee.policies import ExitPolicy, policy_params, simulate
from epee.runtime.exit_logits import (
    collect_exit_logits,
    per_exit_metric,
    predictions_from_logits,
    probabilities_from_logits,
)
from epee.runtime.speed import flops_speedup, layer_speedup, mean_exit_layer
from epee.tasks.degeneracy import DegeneracyCheck, majority_metric
from epee.tasks.metrics import apply_metric, metrics_beside


@dataclass(frozen=True)
class ExitMetricTable:
    """``metrics[name]``: each exit's value, then the majority-class baseline's; ``degenerate[i]``: why
    exit ``i`` is degenerate by the headline metric (:mod:`epee.tasks.degeneracy`), else None."""

    metrics: dict[str, list[float]]
    degenerate: tuple[str | None, ...]
    policy: PolicyScore | None = None


@dataclass(frozen=True)
class PolicyScore:
    """One exit policy on a split: its headline metric beside the last exit's, and where its rows left."""

    policy: str
    params: dict
    metric: float
    last_exit_metric: float
    mean_exit_layer: float
    num_layers: int
    layer_speedup: float
    flops_speedup: float
    degenerate: str | None  # why the policy's predictions are degenerate (epee.tasks.degeneracy), else None


def exit_metric_table(
    model: MultiExitModel, dataset: Dataset, split: str, policy: ExitPolicy | None = None
) -> ExitMetricTable:
    """Headline metric and the metrics shown beside it (:func:`~epee.tasks.metrics.metrics_beside`) of
    every exit on ``split``, then of the majority class.

    On imbalanced clinical labels shallow exits can collapse to the majority class (DESIGN.md);
    the baseline row shows what that collapse would score, and the degeneracy marks say which exits did.
    """
    examples = getattr(dataset, split)
    if not examples:
        raise EpeeError(f"Dataset {dataset.name!r} has no {split} split.")
    featurizer = featurizer_for(model)
    encoded = encode_split(featurizer, examples, model)
    logits = collect_exit_logits(model, featurizer, encoded, description=f"{split} logits")
    multi_label = model.config.multi_label
    gold = encoded.labels.numpy()
    named = metrics_beside(dataset, split)
    metrics = {
        name: [*per_exit_metric(logits, encoded.labels, metric, multi_label), majority_metric(metric, gold)]
        for name, metric in named.items()
    }
    check = DegeneracyCheck.for_labels(gold, named[dataset.metric])
    per_exit_predictions = predictions_from_logits(logits, multi_label)
    pairs = zip(per_exit_predictions, metrics[dataset.metric][:-1], strict=True)
    degenerate = tuple(check.reason(predictions, value) for predictions, value in pairs)
    score = None
    if policy is not None:
        exit_index = simulate(policy, logits, multi_label=multi_label).exit_index.numpy()
        rows = np.arange(len(gold))
        predictions = per_exit_predictions[exit_index, rows]
        probabilities = probabilities_from_logits(logits, multi_label)[exit_index, rows]
        value = apply_metric(named[dataset.metric], predictions, gold, probabilities)
        exit_layers = np.asarray(model.exit_layers)[exit_index]
        layer_flops, head_flops = model_flops(model, float(encoded.lengths.mean()))
        score = PolicyScore(
            policy=policy.name,
            params=policy_params(policy)["params"],
            metric=value,
            last_exit_metric=metrics[dataset.metric][-2],
            mean_exit_layer=mean_exit_layer(exit_layers, model.num_layers),
            num_layers=model.num_layers,
            layer_speedup=layer_speedup(exit_layers, model.num_layers),
            flops_speedup=flops_speedup(exit_layers, layer_flops, head_flops, model.exit_layers, model.num_layers),
            degenerate=check.reason(predictions, value),
        )
    return ExitMetricTable(metrics, degenerate, score)
