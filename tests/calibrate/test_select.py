"""Pareto frontier and selection rules on hand-made (metric, speed-up) points."""

from dataclasses import dataclass

import pytest

from epee.calibrate import at_least_last_exit, best_at_speedup, fastest_within, pareto_frontier


@dataclass(frozen=True)
class Point:
    name: str
    metric: float
    layer_speedup: float


A = Point("A", 0.90, 1.0)
B = Point("B", 0.89, 2.0)
B_WORSE = Point("B-", 0.885, 2.0)  # same speed as B, lower metric
C = Point("C", 0.85, 3.0)
C_AGAIN = Point("C2", 0.85, 3.0)  # a duplicate of C
D = Point("D", 0.80, 2.5)  # dominated by C
E = Point("E", 0.89, 1.5)  # dominated by B
POINTS = [A, B_WORSE, E, C, D, B, C_AGAIN]


def test_frontier_keeps_the_undominated_points_by_increasing_speedup():
    assert [point.name for point in pareto_frontier(POINTS)] == ["A", "B", "C"]
    assert pareto_frontier([]) == []


def test_fastest_within_epsilon_in_metric_units():
    assert fastest_within(POINTS, 0.90, 0.0).name == "A"
    assert fastest_within(POINTS, 0.90, 0.01).name == "B"  # one point of loss allowed; B beats B- on metric
    assert fastest_within(POINTS, 0.90, 0.05).name == "C"  # C before its duplicate
    assert fastest_within(POINTS, 0.95, 0.2).name == "C"


def test_at_least_last_exit_is_fastest_within_zero():
    assert at_least_last_exit(POINTS, 0.89).name == "B"
    with pytest.raises(ValueError, match="No calibrated point reaches metric 0.9500"):
        at_least_last_exit(POINTS, 0.95)


def test_best_at_speedup():
    assert best_at_speedup(POINTS, 1.0).name == "A"
    assert best_at_speedup(POINTS, 1.8).name == "B"
    assert best_at_speedup(POINTS, 2.2).name == "C"
    with pytest.raises(ValueError, match="No calibrated point reaches a layer speed-up of 3.5; the fastest is 3.000"):
        best_at_speedup(POINTS, 3.5)


def test_rule_arguments_are_checked():
    with pytest.raises(ValueError, match="epsilon .* must be >= 0; got -0.01"):
        fastest_within(POINTS, 0.9, -0.01)
    with pytest.raises(ValueError, match="target layer speed-up must be > 0"):
        best_at_speedup(POINTS, 0.0)
