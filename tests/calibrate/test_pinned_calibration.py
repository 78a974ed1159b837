"""The default calibration sweep gives, point for point, what it gave before policies carried their own grids.

``pinned_calibration.json`` was written by this module's ``sweep`` on main at f8f743c, before
grids and fast rules moved from ``epee.calibrate`` into the policy classes: every default grid
point of every shipped policy, on fixed random logits (single- and multi-label), with its metric,
mean exit layer, FLOPs speed-up and exit counts. Floats are compared exactly. Parameters are read the way
old checkpoints are (budget's 0-based ``exit_index`` became the 1-based ``exit_layer``).
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from epee.calibrate import calibrate
from epee.policies.registry import upgrade_stored_params

PINNED = json.loads((Path(__file__).parent / "pinned_calibration.json").read_text())


def logits_and_labels(multi_label: bool) -> tuple[torch.Tensor, np.ndarray]:
    generator = torch.Generator().manual_seed(2026 + multi_label)
    scale = torch.linspace(0.5, 4.0, 6)[:, None, None]
    layer_logits = torch.randn(6, 64, 4, generator=generator) * scale  # [exits, batch, classes]
    if multi_label:
        labels = (torch.randn(64, 4, generator=generator) + layer_logits[-1] > 0).long().numpy()
    else:
        labels = torch.randint(4, (64,), generator=generator).numpy()
        labels[:40] = layer_logits[-1, :40].argmax(-1).numpy()  # the last exit right on most rows
    return layer_logits, labels


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return (
        float((predicted == labels).all(axis=-1).mean()) if predicted.ndim > 1 else float((predicted == labels).mean())
    )


def sweep(multi_label: bool) -> dict:
    layer_logits, labels = logits_and_labels(multi_label)
    result = calibrate(
        layer_logits,
        labels,
        exit_layer_numbers=(2, 4, 6, 8, 10, 12),
        num_layers=12,
        multi_label=multi_label,
        metric=accuracy,
        layer_flops=10.0,
        head_flops=1.0,
    )
    oracle = result.oracle
    return {
        "per_exit_metric": list(result.per_exit_metric),
        "oracle": [oracle.metric, oracle.mean_exit_layer, list(oracle.exit_counts)],
        "points": [
            [
                point.policy,
                point.params,
                point.metric,
                point.mean_exit_layer,
                point.flops_speedup,
                list(point.exit_counts),
            ]
            for point in result.points
        ],
    }


@pytest.mark.parametrize("task", ["single_label", "multi_label"])
def test_default_sweep_equals_the_pinned_one(task):
    swept = json.loads(json.dumps(sweep(task == "multi_label")))  # tuples as lists, as in the file
    pinned = PINNED[task]
    assert swept["per_exit_metric"] == pinned["per_exit_metric"]
    assert swept["oracle"] == pinned["oracle"]
    assert len(swept["points"]) == len(pinned["points"])
    for point, expected in zip(swept["points"], pinned["points"], strict=True):
        assert point == [expected[0], upgrade_stored_params(expected[0], expected[1]), *expected[2:]]
