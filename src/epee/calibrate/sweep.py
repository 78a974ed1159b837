"""Simulate every policy over its grid on cached validation logits and measure each point.

Run the model once on the *validation* split with all exits, cache the logits, then call
:func:`calibrate`. It takes one split on purpose: select on validation, report on test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import torch

from epee.calibrate.results import CalibrationResult, PolicyPoint
from epee.errors import EpeeError
from epee.policies import (
    DEPLOYABLE_POLICIES,
    ExitPolicy,
    ExitTables,
    Grid,
    fast_exit_index,
    make_policy,
    oracle_exits,
    policy_class,
    policy_params,
)
from epee.policies.simulate import check_layer_logits
from epee.runtime.exit_logits import predictions_from_logits, probabilities_from_logits
from epee.runtime.speed import flops_speedup, layer_speedup, mean_exit_layer, saved_fraction
from epee.tasks.degeneracy import DegeneracyCheck
from epee.tasks.metrics import Metric, apply_metric


def _labels_array(labels: np.ndarray | torch.Tensor) -> np.ndarray:
    return labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)


def per_exit_error_rates(
    layer_logits: torch.Tensor, labels: np.ndarray | torch.Tensor, *, multi_label: bool
) -> tuple[float, ...]:
    """Fraction of samples each exit gets wrong; multi-label, a sample is wrong unless all its labels are right."""
    check_layer_logits(layer_logits)
    wrong = predictions_from_logits(layer_logits, multi_label) != _labels_array(labels)  # [exits, batch(, labels)]
    if multi_label:
        wrong = wrong.any(axis=-1)
    return tuple(float(rate) for rate in wrong.mean(axis=1))


def _check_inputs(
    layer_logits: torch.Tensor, labels: np.ndarray, exit_layer_numbers: Sequence[int], num_layers: int
) -> None:
    check_layer_logits(layer_logits)
    num_exits, batch_size, _ = layer_logits.shape
    if len(exit_layer_numbers) != num_exits:
        raise EpeeError(
            f"exit_layer_numbers must give the layer of each of the {num_exits} exits; got {len(exit_layer_numbers)}."
        )
    increasing = all(later > earlier for earlier, later in pairwise(exit_layer_numbers))
    if not increasing or exit_layer_numbers[0] < 1 or exit_layer_numbers[-1] > num_layers:
        raise EpeeError(
            f"exit_layer_numbers must be increasing 1-based layers in [1, {num_layers}]; "
            f"got {list(exit_layer_numbers)}."
        )
    if labels.shape[0] != batch_size:
        raise EpeeError(f"Got {labels.shape[0]} labels for {batch_size} samples of cached logits.")


def calibratable_policy(name: str) -> type[ExitPolicy]:
    """The registered, deployable policy class called ``name``; a sentence, never a KeyError, otherwise."""
    try:
        policy_type = policy_class(name)
    except EpeeError as error:
        raise EpeeError(f"Cannot calibrate policy {name!r}: {error}") from error
    if not policy_type.deployable:
        raise EpeeError(
            f"Cannot calibrate policy {name!r}: it is an analysis bound, not a deployable policy; "
            f"calibrate one of {DEPLOYABLE_POLICIES}."
        )
    return policy_type


def default_grids(policies: Sequence[str], error_rates: Sequence[float]) -> dict[str, Grid]:
    """Every policy's own grid (:meth:`~epee.policies.ExitPolicy.default_grid`) for exits of these error rates."""
    grids = {}
    for name in policies:
        grid = calibratable_policy(name).default_grid(error_rates)
        if grid is None:
            raise EpeeError(
                f"The {name} policy has no default grid; pass one with grids={{{name!r}: [{{...}}, ...]}} "
                "or give its class a default_grid classmethod."
            )
        grids[name] = grid
    return grids


def calibrate(
    layer_logits: torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    *,
    exit_layer_numbers: Sequence[int],
    num_layers: int,
    multi_label: bool,
    metric: Metric,
    metric_name: str = "metric",
    policies: Sequence[str] = DEPLOYABLE_POLICIES,
    grids: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    layer_flops: float | None = None,
    head_flops: float | None = None,
) -> CalibrationResult:
    """Simulate ``policies`` over their grids on validation logits ``[exits, batch, classes]``.

    ``policies`` are registry names: the shipped ones by default, any registered policy by name.
    ``grids`` replaces the default grid (each policy class's ``default_grid``) of the policies it
    names. ``metric`` scores predictions in [0, 1], higher is better; one of probabilities (auc)
    gets those of the exit each row left at. FLOPs speed-ups are computed when both ``layer_flops``
    and ``head_flops`` are given (see :mod:`epee.runtime.speed`). Every exit and every point is
    checked for degeneracy against the majority-class baseline of these labels
    (:mod:`epee.tasks.degeneracy`).
    """
    labels = _labels_array(labels)
    _check_inputs(layer_logits, labels, exit_layer_numbers, num_layers)
    grids = dict(grids or {})
    for name in policies:
        calibratable_policy(name)
    ungridded = sorted(set(grids) - set(policies))
    if ungridded:
        raise EpeeError(f"A grid was given for {ungridded[0]!r}, which is not among the policies {tuple(policies)}.")
    if (layer_flops is None) != (head_flops is None):
        raise EpeeError("FLOPs speed-ups need both layer_flops and head_flops; give both or neither.")

    error_rates = per_exit_error_rates(layer_logits, labels, multi_label=multi_label)
    defaults = default_grids([name for name in policies if name not in grids], error_rates)
    grids = {name: grids[name] if name in grids else defaults[name] for name in policies}
    per_exit_predictions = predictions_from_logits(layer_logits, multi_label)  # [exits, batch(, labels)]
    per_exit_probabilities = probabilities_from_logits(layer_logits, multi_label)  # [exits, batch, labels]
    layer_numbers = np.asarray(exit_layer_numbers, dtype=np.int64)
    rows = np.arange(layer_logits.shape[1])
    degeneracy = DegeneracyCheck.for_labels(labels, metric)

    def measure(name: str, params: dict[str, Any], exit_index: torch.Tensor) -> PolicyPoint:
        chosen = exit_index.cpu().numpy()
        exit_layers = layer_numbers[chosen]
        flops = None
        if layer_flops is not None:
            flops = flops_speedup(exit_layers, layer_flops, head_flops, exit_layer_numbers, num_layers)
        chosen_predictions = per_exit_predictions[chosen, rows]
        value = apply_metric(metric, chosen_predictions, labels, per_exit_probabilities[chosen, rows])
        return PolicyPoint(
            policy=name,
            params=params,
            metric=value,
            mean_exit_layer=mean_exit_layer(exit_layers, num_layers),
            layer_speedup=layer_speedup(exit_layers, num_layers),
            saved_fraction=saved_fraction(exit_layers, num_layers),
            flops_speedup=flops,
            exit_counts=tuple(int(count) for count in np.bincount(chosen, minlength=len(layer_numbers))),
            degenerate=degeneracy.reason(chosen_predictions, value),
        )

    tables = ExitTables(layer_logits, multi_label)
    points = []
    for name in policies:
        for params in grids[name]:
            policy = make_policy(name, **params)
            points.append(measure(name, policy_params(policy)["params"], fast_exit_index(policy, tables)))
    oracle = oracle_exits(layer_logits, multi_label=multi_label)
    per_exit_metric = tuple(
        apply_metric(metric, exit_predictions, labels, exit_probabilities)
        for exit_predictions, exit_probabilities in zip(per_exit_predictions, per_exit_probabilities, strict=True)
    )
    return CalibrationResult(
        metric_name=metric_name,
        num_layers=num_layers,
        exit_layer_numbers=tuple(int(layer) for layer in exit_layer_numbers),
        multi_label=multi_label,
        num_samples=len(labels),
        per_exit_metric=per_exit_metric,
        points=tuple(points),
        oracle=measure("oracle", {"reference": "final"}, oracle.exit_index),
        majority_metric=degeneracy.baseline,
        per_exit_degenerate=tuple(
            degeneracy.reason(exit_predictions, value)
            for exit_predictions, value in zip(per_exit_predictions, per_exit_metric, strict=True)
        ),
    )
