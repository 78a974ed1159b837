"""Calibration never selects a degenerate setting: the shape of issue 19 on a hand-made logits tensor.

Exits 1 and 2 predict the majority class for everyone (60% accuracy, the majority baseline); exit 3
beats the baseline; the last exit falls below it. The old rule ("fastest within 1 point of the
last exit") picked exit 1 at 4x, printing a better dev metric than the last exit's.
"""

import numpy as np
import pytest
import torch

from epee.calibrate import CalibrationResult, calibrate
from epee.workflow.assessment import select_per_policy

LABELS = np.array([0] * 12 + [1] * 8)
EXIT_3 = [0] * 9 + [1] * 3 + [1] * 4 + [0] * 4  # 13 of 20 right: 65%
LAST_EXIT = [0] * 7 + [1] * 5 + [1] * 4 + [0] * 4  # 11 of 20 right: 55%, below the baseline
PREDICTED = [[0] * 20, [0] * 20, EXIT_3, LAST_EXIT]  # [exits, samples]
LAYER_LOGITS = torch.nn.functional.one_hot(torch.tensor(PREDICTED), 2).float() * 3  # [4 exits, 20 samples, 2 classes]


def accuracy(predictions, labels):
    return float((predictions == labels).mean())


@pytest.fixture(scope="module")
def result() -> CalibrationResult:
    return calibrate(
        LAYER_LOGITS,
        LABELS,
        exit_layer_numbers=(1, 2, 3, 4),
        num_layers=4,
        multi_label=False,
        metric=accuracy,
        policies=("budget", "patience"),
    )


def test_collapsed_and_losing_exits_are_marked(result):
    assert result.per_exit_metric == (0.6, 0.6, 0.65, 0.55)
    assert result.majority_metric == 0.6
    assert result.per_exit_degenerate == (
        "one prediction for 100.0% of examples (labels: 60.0%)",
        "one prediction for 100.0% of examples (labels: 60.0%)",
        None,
        "55.0 does not beat the majority baseline 60.0 by 1.0",
    )
    budget = {point.params["exit_layer"]: point.degenerate for point in result.points_of("budget")}
    assert [budget[layer] is not None for layer in range(1, 5)] == [True, True, False, True]
    assert CalibrationResult.from_dict(result.to_dict()) == result


def test_every_rule_skips_degenerate_points(result):
    chosen = result.select("fastest_within", 0.01)
    assert (chosen.policy, chosen.params, chosen.layer_speedup) == ("budget", {"exit_layer": 3}, 4 / 3)
    assert result.at_least_last_exit() == chosen
    assert result.select("best_at_speedup", 1.0) == chosen  # the best non-degenerate metric
    with pytest.raises(ValueError, match="No calibrated point reaches a layer speed-up of 2"):
        result.best_at_speedup(2.0)  # only the collapsed exits are that fast


def test_the_skipped_fastest_candidate_is_reported(result):
    skipped = result.skipped_as_degenerate("fastest_within", 0.01)
    assert (skipped.policy, skipped.params, skipped.layer_speedup) == ("budget", {"exit_layer": 1}, 4.0)
    assert skipped.degenerate.startswith("one prediction for 100.0%")
    assert result.skipped_as_degenerate("fastest_within", 0.01) != result.select("fastest_within", 0.01)


def test_allow_degenerate_restores_the_unfiltered_choice(result):
    chosen = result.select("fastest_within", 0.01, allow_degenerate=True)
    assert (chosen.params, chosen.layer_speedup, chosen.metric) == ({"exit_layer": 1}, 4.0, 0.6)
    assert result.best_at_speedup(2.0, allow_degenerate=True).params == {"exit_layer": 1}
    assert result.candidates(allow_degenerate=True) == result.points


def test_per_policy_choices_avoid_degenerate_points_unless_allowed(result):
    chosen = select_per_policy(result, "fastest_within", 0.01)
    assert chosen["budget"].params == {"exit_layer": 3}
    assert not chosen["patience"].degenerate
    allowed = select_per_policy(result, "fastest_within", 0.01, allow_degenerate=True)
    assert allowed["budget"].params == {"exit_layer": 1}


def test_a_model_whose_every_setting_is_degenerate_did_not_learn():
    collapsed = torch.nn.functional.one_hot(torch.zeros(3, 20, dtype=torch.long), 2).float()
    result = calibrate(
        collapsed,
        LABELS,
        exit_layer_numbers=(1, 2, 3),
        num_layers=3,
        multi_label=False,
        metric=accuracy,
        policies=("budget",),
    )
    with pytest.raises(ValueError, match=r"did not learn: every calibrated setting is degenerate on these 20 samples"):
        result.select("fastest_within", 0.01)
    assert result.select("fastest_within", 0.01, allow_degenerate=True).params == {"exit_layer": 1}
