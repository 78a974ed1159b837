"""Calibration results survive JSON and select by rule name."""

import json

import pytest

from epee.calibrate import SELECTION_RULES, CalibrationResult, PolicyPoint
from epee.policies import EPEEPolicy


def point(policy, params, metric, speedup, flops=None):
    return PolicyPoint(
        policy=policy,
        params=params,
        metric=metric,
        mean_exit_layer=12 / speedup,
        layer_speedup=speedup,
        saved_fraction=1 - 1 / speedup,
        flops_speedup=flops,
        exit_counts=(1, 2, 3),
    )


RESULT = CalibrationResult(
    metric_name="micro_f1",
    num_layers=12,
    exit_layer_numbers=(4, 8, 12),
    multi_label=False,
    num_samples=6,
    per_exit_metric=(0.5, 0.8, 0.9),
    points=(
        point("epee", {"tau": 0.01, "patience": 1}, 0.85, 2.5, flops=2.2),
        point("epee", {"tau": 0.01, "patience": 2}, 0.90, 1.6, flops=1.5),
        point("beem", {"alpha": 1.0, "weights": [1.0, 1.0, 1.0], "num_exits": None, "accuracies": None}, 0.91, 1.2),
        point("budget", {"exit_layer": 3}, 0.90, 1.0),
    ),
    oracle=point("oracle", {"reference": "final"}, 0.9, 3.0),
)


def test_json_round_trip():
    stored = json.loads(json.dumps(RESULT.to_dict()))
    assert CalibrationResult.from_dict(stored) == RESULT
    assert CalibrationResult.from_dict(stored).to_dict() == RESULT.to_dict()


def test_selection_rules_by_method_and_by_name():
    assert RESULT.fastest_within(0.05).params == {"tau": 0.01, "patience": 1}
    assert RESULT.at_least_last_exit().params == {"tau": 0.01, "patience": 2}
    assert RESULT.best_at_speedup(1.1).policy == "beem"
    assert RESULT.select("fastest_within", 0.05) == RESULT.fastest_within(0.05)
    assert RESULT.select("best_at_speedup", 2.0).layer_speedup == 2.5
    assert RESULT.select("at_least_last_exit") == RESULT.at_least_last_exit()
    assert SELECTION_RULES == ("fastest_within", "best_at_speedup", "at_least_last_exit")


def test_selection_rule_errors_name_the_rules():
    with pytest.raises(ValueError, match=r"Unknown selection rule 'fastest'; choose one of \('fastest_within'"):
        RESULT.select("fastest", 0.01)
    with pytest.raises(ValueError, match="needs a value"):
        RESULT.select("best_at_speedup")
    with pytest.raises(ValueError, match="takes no value"):
        RESULT.select("at_least_last_exit", 0.01)


def test_frontier_per_policy_and_overall():
    assert [p.layer_speedup for p in RESULT.frontier()] == [1.2, 1.6, 2.5]
    assert [p.layer_speedup for p in RESULT.frontier("epee")] == [1.6, 2.5]
    with pytest.raises(
        ValueError, match=r"'pcee' was not calibrated; calibrated policies are \('epee', 'beem', 'budget'\)"
    ):
        RESULT.frontier("pcee")


def test_a_point_builds_its_policy():
    policy = RESULT.points[0].make_policy()
    assert isinstance(policy, EPEEPolicy) and policy.params.patience == 1
    assert RESULT.points[2].make_policy().weights == (1.0, 1.0, 1.0)
