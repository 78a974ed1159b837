"""Pareto frontier and the selection rules that turn a calibration grid into one policy.

Points are compared on the task metric (a fraction in [0, 1]) and the *layer* speed-up. Every rule
is stated in its docstring, raises ``ValueError`` when no point qualifies, and breaks ties
deterministically (the earlier point in the grid wins a full tie). Rules see only the candidates
they are given: :func:`without_degenerate` is the filter every rule's candidates pass through unless
the user allows degenerate settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from epee.errors import EpeeError

TOLERANCE = 1e-12
"""Slack on comparisons, so the last exit's own point always meets "metric >= last-exit metric"."""


class TradeOffPoint(Protocol):
    metric: float
    layer_speedup: float
    degenerate: str | None


P = TypeVar("P", bound=TradeOffPoint)


def without_degenerate(points: Sequence[P]) -> list[P]:
    """The points no degeneracy check flagged (:mod:`epee.tasks.degeneracy`): collapsed or no better than
    the majority class on the calibration split, a setting is never worth its speed-up."""
    return [point for point in points if not point.degenerate]


def pareto_frontier(points: Sequence[P]) -> list[P]:
    """Points that no other point beats on both metric and layer speed-up, ordered by increasing speed-up.

    Of points with equal speed-up and metric, only the first is kept.
    """
    order = sorted(range(len(points)), key=lambda index: (-points[index].layer_speedup, -points[index].metric, index))
    frontier: list[P] = []
    for index in order:
        if not frontier or points[index].metric > frontier[-1].metric:
            frontier.append(points[index])
    return frontier[::-1]


def fastest_within(points: Sequence[P], reference_metric: float, epsilon: float) -> P:
    """The fastest point whose metric >= ``reference_metric - epsilon``; ties go to the higher metric.

    ``epsilon`` is in metric units: metrics are fractions, so 0.01 allows one point (1 %) of loss.
    """
    if epsilon < 0:
        raise EpeeError(f"epsilon is an allowed metric loss and must be >= 0; got {epsilon}.")
    eligible = [point for point in points if point.metric >= reference_metric - epsilon - TOLERANCE]
    if not eligible:
        raise EpeeError(
            f"No calibrated point reaches metric {reference_metric - epsilon:.4f} (reference {reference_metric:.4f} "
            f"minus epsilon {epsilon}); allow a larger epsilon or include the budget policy's last-exit point."
        )
    return max(eligible, key=lambda point: (point.layer_speedup, point.metric))


def best_at_speedup(points: Sequence[P], target: float) -> P:
    """The best-metric point whose layer speed-up >= ``target``; ties go to the faster point."""
    if target <= 0:
        raise EpeeError(f"The target layer speed-up must be > 0 (1.0 means no speed-up); got {target}.")
    eligible = [point for point in points if point.layer_speedup >= target - TOLERANCE]
    if not eligible:
        fastest = max(point.layer_speedup for point in points) if points else 0.0
        raise EpeeError(f"No calibrated point reaches a layer speed-up of {target}; the fastest is {fastest:.3f}.")
    return max(eligible, key=lambda point: (point.metric, point.layer_speedup))


def at_least_last_exit(points: Sequence[P], last_exit_metric: float) -> P:
    """BEEM's rule (Bajpai & Hanawal, 2025): the fastest point whose metric is at least the last exit's."""
    return fastest_within(points, last_exit_metric, 0.0)
