"""Every calibrated policy on the test split: metric, layer, FLOPs and measured wall-clock speed-ups.

Each policy's operating point is chosen on dev (by the caller's rule); here it is only applied to
test, by simulation over the cached test logits (exact, see the runtime equivalence tests) and,
for wall clock, by real dynamic inference against the plain Hugging Face model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from epee.calibrate.results import PolicyPoint
from epee.evaluate.wallclock import compare_wallclock, speedup_over
from epee.models import MultiExitModel
from epee.policies import simulate
from epee.runtime.exit_logits import predictions_from_logits, probabilities_from_logits
from epee.runtime.speed import flops_speedup, layer_speedup
from epee.tasks.degeneracy import DegeneracyCheck
from epee.tasks.encoding import EncodedSplit, batch_indices
from epee.tasks.metrics import Metric, apply_metric


@dataclass
class PolicyEvaluation:
    policy: str
    params: dict
    dev_metric: float
    dev_layer_speedup: float
    test_metric: float
    layer_speedup: float
    flops_speedup: float
    wallclock_speedup: float | None
    exit_layers: list[int]  # per test example
    degenerate: str | None = None  # why the setting is degenerate on test (epee.tasks.degeneracy), else None
    wallclock_low: float | None = None  # slowest and fastest interleaved round
    wallclock_high: float | None = None
    wallclock_flag: str | None = None  # epee.evaluate.wallclock.BUSY when the figure cannot be trusted

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_on_test(
    model: MultiExitModel,
    test_logits: torch.Tensor,
    test_labels: torch.Tensor,
    metric: Metric,
    selections: Mapping[str, PolicyPoint],
    *,
    layer_flops: float,
    head_flops: float,
) -> list[PolicyEvaluation]:
    """Apply each dev-selected point to cached test logits ``[exits, examples, labels]``."""
    multi_label = model.config.multi_label
    layer_numbers = np.asarray(model.exit_layers)
    gold = test_labels.numpy()
    rows = np.arange(test_logits.shape[1])
    degeneracy = DegeneracyCheck.for_labels(gold, metric)
    evaluations = []
    for name, point in selections.items():
        exit_index = simulate(point.make_policy(), test_logits, multi_label=multi_label).exit_index.numpy()
        exit_layers = layer_numbers[exit_index]
        predictions = predictions_from_logits(test_logits, multi_label)[exit_index, rows]
        probabilities = probabilities_from_logits(test_logits, multi_label)[exit_index, rows]
        test_metric = apply_metric(metric, predictions, gold, probabilities)
        evaluations.append(
            PolicyEvaluation(
                policy=name,
                params=point.params,
                dev_metric=point.metric,
                dev_layer_speedup=point.layer_speedup,
                test_metric=test_metric,
                layer_speedup=layer_speedup(exit_layers, model.num_layers),
                flops_speedup=flops_speedup(exit_layers, layer_flops, head_flops, model.exit_layers, model.num_layers),
                wallclock_speedup=None,
                exit_layers=exit_layers.tolist(),
                degenerate=degeneracy.reason(predictions, test_metric),
            )
        )
    return evaluations


def measure_wallclock(
    model: MultiExitModel,
    featurizer,
    split: EncodedSplit,
    evaluations: Sequence[PolicyEvaluation],
    *,
    batch_size: int = 32,
    repeats: int = 5,
    progress: bool = True,
) -> dict[str, float]:
    """Fill in each evaluation's wall-clock speed-up over the plain model (median of ``repeats`` interleaved
    rounds, with the slowest and fastest round and a flag when the machine was too busy); returns the median
    seconds by path."""
    batches = [
        featurizer.collate([split.features[row] for row in rows])
        for rows in batch_indices(len(split), batch_size, lengths=split.lengths)
    ]
    policies = {evaluation.policy: _policy_of(evaluation) for evaluation in evaluations}
    timings = compare_wallclock(model, batches, policies, repeats=repeats, progress=progress)
    for evaluation in evaluations:
        estimate = speedup_over(timings["plain"], timings[evaluation.policy])
        evaluation.wallclock_speedup = estimate.median
        evaluation.wallclock_low, evaluation.wallclock_high = estimate.low, estimate.high
        evaluation.wallclock_flag = estimate.flag(evaluation.layer_speedup)
    return {name: timing.seconds for name, timing in timings.items()}


def _policy_of(evaluation: PolicyEvaluation):
    from epee.policies import make_policy

    return make_policy(evaluation.policy, **evaluation.params)
