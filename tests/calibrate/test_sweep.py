"""calibrate() on hand-made cached logits: per-point figures, per-exit metrics, the oracle, BEEM's rule."""

import numpy as np
import pytest
import torch

from epee.calibrate import calibrate, default_grids, per_exit_error_rates
from epee.errors import EpeeError
from epee.policies import DEPLOYABLE_POLICIES
from epee.runtime.exit_logits import predictions_from_logits


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float((predictions == labels).mean())


def one_hot_logits(predicted):
    """[exits, batch, classes=3] with the given argmax per exit (rows) and sample (columns)."""
    return torch.nn.functional.one_hot(torch.tensor(predicted), 3).float() * 3


# exits at layers 2, 4, 6 of a 6-layer model; 4 samples, gold labels 0, 1, 2, 0
LAYER_LOGITS = one_hot_logits([[0, 0, 0, 1], [0, 1, 1, 0], [0, 1, 2, 0]])
LABELS = np.array([0, 1, 2, 0])
SETUP = dict(exit_layer_numbers=(2, 4, 6), num_layers=6, multi_label=False, metric=accuracy)


def test_budget_points_measure_each_exit():
    result = calibrate(LAYER_LOGITS, LABELS, **SETUP, policies=("budget",), layer_flops=10.0, head_flops=1.0)
    assert result.per_exit_metric == (0.25, 0.75, 1.0)
    assert result.last_exit_metric == 1.0
    first, second, last = result.points
    assert (first.metric, first.mean_exit_layer, first.layer_speedup) == (0.25, 2.0, 3.0)
    assert first.saved_fraction == pytest.approx(2 / 3)
    assert first.flops_speedup == pytest.approx(61 / 21)  # 2 layers + 1 head vs 6 layers + 1 head
    assert second.flops_speedup == pytest.approx(61 / 42)  # 4 layers + 2 heads
    assert last.flops_speedup == pytest.approx(61 / 63)  # every head evaluated: slower than the plain model
    assert first.exit_counts == (4, 0, 0) and last.exit_counts == (0, 0, 4)
    assert result.fastest_within(0.3).params == {"exit_layer": 2}
    # the final-prediction oracle: samples exit at 0, 1, 2, 1 -> layers 2, 4, 6, 4
    assert result.oracle.mean_exit_layer == 4.0 and result.oracle.metric == 1.0
    assert result.oracle.exit_counts == (1, 2, 1)


def test_custom_grids_and_point_parameters_are_json_ready():
    result = calibrate(
        LAYER_LOGITS,
        torch.tensor(LABELS),
        **SETUP,
        policies=("patience", "beem"),
        grids={"beem": [{"alpha": 0.5, "weights": (1.0, 1.0, 1.0)}]},
    )
    assert result.policies == ("patience", "beem")
    assert result.points_of("beem")[0].params == {
        "alpha": 0.5,
        "weights": [1.0, 1.0, 1.0],
        "num_exits": None,
        "accuracies": None,
    }
    assert [point.params["patience"] for point in result.points_of("patience")] == [1, 2]
    assert result.points_of("patience")[0].exit_counts == (0, 1, 3)  # only sample 0 repeats itself at exit 1


def test_default_calibration_searches_every_deployable_policy():
    generator = torch.Generator().manual_seed(5)
    layer_logits = torch.randn(4, 50, 3, generator=generator) * torch.arange(1, 5)[:, None, None]
    labels = layer_logits[-1].argmax(-1).numpy()
    result = calibrate(
        layer_logits, labels, exit_layer_numbers=(3, 6, 9, 12), num_layers=12, multi_label=False, metric=accuracy
    )
    assert result.policies == DEPLOYABLE_POLICIES
    error_rates = per_exit_error_rates(layer_logits, labels, multi_label=False)
    assert len(result.points) == sum(len(grid) for grid in default_grids(DEPLOYABLE_POLICIES, error_rates).values())
    assert result.at_least_last_exit().metric >= result.last_exit_metric


def test_multi_label_predictions_and_error_rates():
    logits = torch.tensor([[[2.0, -1.0], [0.5, 0.3]], [[2.0, 1.0], [-0.5, 0.3]]])  # [exits=2, batch=2, labels=2]
    assert predictions_from_logits(logits, multi_label=True).tolist() == [[[1, 0], [1, 1]], [[1, 1], [0, 1]]]
    assert predictions_from_logits(logits[0], multi_label=False).tolist() == [0, 0]
    labels = np.array([[1, 1], [1, 1]])
    assert per_exit_error_rates(logits, labels, multi_label=True) == (0.5, 0.5)  # exact match per sample


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="layer of each of the 3 exits; got 2"):
        calibrate(LAYER_LOGITS, LABELS, **{**SETUP, "exit_layer_numbers": (3, 6)})
    with pytest.raises(ValueError, match=r"increasing 1-based layers in \[1, 6\]; got \[2, 6, 4\]"):
        calibrate(LAYER_LOGITS, LABELS, **{**SETUP, "exit_layer_numbers": (2, 6, 4)})
    with pytest.raises(ValueError, match="Got 3 labels for 4 samples"):
        calibrate(LAYER_LOGITS, LABELS[:3], **SETUP)
    with pytest.raises(ValueError, match="Cannot calibrate policy 'oracle'"):
        calibrate(LAYER_LOGITS, LABELS, **SETUP, policies=("oracle",))
    with pytest.raises(EpeeError, match="Cannot calibrate policy 'pabee': Unknown exit policy 'pabee'"):
        calibrate(LAYER_LOGITS, LABELS, **SETUP, policies=("pabee",), grids={"pabee": [{"patience": 1}]})
    with pytest.raises(ValueError, match="A grid was given for 'epee', which is not among the policies"):
        calibrate(LAYER_LOGITS, LABELS, **SETUP, policies=("budget",), grids={"epee": []})
    with pytest.raises(ValueError, match="need both layer_flops and head_flops"):
        calibrate(LAYER_LOGITS, LABELS, **SETUP, layer_flops=1.0)


def test_beem_rule_takes_the_smallest_candidate_as_accurate_as_the_last_exit():
    # 3 exits, 2 classes, every label 0, the last exit always right. Error rates 0.5, 0.25, 0;
    # BEEM-C weights 1/3, 2/3, 1; candidates 1/6, 1/2, 2/3, 1, 3/2, 5/3.
    # samples 0, 1: right and sure (0.99) at exits 0, 1 -> S = 0.33, 0.99
    # sample 2: wrong (0.6) at exit 0, right (0.6) at exit 1 -> S = 0.2, 0.4 (reset)
    # sample 3: wrong (0.6) at exits 0 and 1 -> S = 0.2, 0.6
    # alpha 1/6 exits samples 2, 3 wrongly at exit 0; 1/2 exits sample 3 wrongly at exit 1; 2/3 is clean.
    sure, unsure = [0.99, 0.01], [0.4, 0.6]
    probs = [[sure, sure, unsure, unsure], [sure, sure, [0.6, 0.4], unsure], [sure] * 4]
    layer_logits = torch.tensor(probs).log()
    setup = dict(exit_layer_numbers=(1, 2, 3), num_layers=3, multi_label=False, metric=accuracy)
    result = calibrate(layer_logits, np.zeros(4, dtype=int), **setup, policies=("beem",))
    cost_points = [point for point in result.points if point.params["weights"] == "cost"]
    assert [point.params["alpha"] for point in cost_points] == pytest.approx([1 / 6, 1 / 2, 2 / 3, 1, 3 / 2, 5 / 3])
    chosen = result.at_least_last_exit(allow_degenerate=True)  # every label is 0: the majority class
    assert chosen.params["alpha"] == pytest.approx(2 / 3) and chosen.params["weights"] == "cost"
    assert chosen.metric == 1.0 and chosen.exit_counts == (0, 2, 2)
