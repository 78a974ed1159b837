"""Default parameter grids searched by calibration, one function per policy, values exposed as options.

Entropy-like thresholds are on *normalised* entropy (in [0, 1] for any number of classes), so one
grid fits every task. Patience values beyond ``num_exits - 1`` cannot fire before the last exit;
EPEE's published grid keeps them (patience 1..11 for 12-layer models) so results stay comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import Any

from epee.errors import EpeeError
from epee.policies import DIVERGENCES, beem_alpha_candidates, cost_weights

Grid = list[dict[str, Any]]

EPEE_TAUS = (0.001, 0.005, 0.01, 0.03, 0.05, 0.1)
EPEE_PATIENCES = tuple(range(1, 12))
"""EPEE's published search space (Zhan et al., 2025): 6 x 11 = 66 points."""
ENTROPY_TAUS = (0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
MAXPROB_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99, 0.995, 0.999)
MARGIN_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
PCEE_TAUS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4)
PCEE_PATIENCES = (1, 2, 3, 4)
FPABEE_TAUS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.2)
FPABEE_PATIENCES = (1, 2, 3, 4)
FPABEE_DIVERGENCES = ("js", "kl")


def epee_grid(taus: Sequence[float] = EPEE_TAUS, patiences: Sequence[int] = EPEE_PATIENCES) -> Grid:
    return [{"tau": tau, "patience": patience} for tau, patience in product(taus, patiences)]


def entropy_grid(taus: Sequence[float] = ENTROPY_TAUS, normalized: bool = True) -> Grid:
    return [{"tau": tau, "normalized": normalized} for tau in taus]


def maxprob_grid(thresholds: Sequence[float] = MAXPROB_THRESHOLDS) -> Grid:
    return [{"threshold": threshold} for threshold in thresholds]


def margin_grid(thresholds: Sequence[float] = MARGIN_THRESHOLDS) -> Grid:
    return [{"threshold": threshold} for threshold in thresholds]


def patience_grid(num_exits: int) -> Grid:
    """Patience 1 .. num_exits - 1: every value that can fire before the last exit."""
    return [{"patience": patience} for patience in range(1, max(num_exits, 2))]


def pcee_grid(taus: Sequence[float] = PCEE_TAUS, patiences: Sequence[int] = PCEE_PATIENCES) -> Grid:
    return [{"tau": tau, "patience": patience} for tau, patience in product(taus, patiences)]


def fpabee_grid(
    taus: Sequence[float] = FPABEE_TAUS,
    patiences: Sequence[int] = FPABEE_PATIENCES,
    divergences: Sequence[str] = FPABEE_DIVERGENCES,
) -> Grid:
    unknown = sorted(set(divergences) - set(DIVERGENCES))
    if unknown:
        raise EpeeError(f"Unknown divergence {unknown[0]!r} in the fpabee grid; choose from {DIVERGENCES}.")
    return [
        {"tau": tau, "patience": patience, "divergence": kind}
        for kind, tau, patience in product(divergences, taus, patiences)
    ]


def beem_grid(error_rates: Sequence[float]) -> Grid:
    """BEEM-C and BEEM-A, each with the alpha candidates of :func:`~epee.policies.beem_alpha_candidates`."""
    num_exits = len(error_rates)
    accuracies = [1.0 - error for error in error_rates]
    cost = [
        {"alpha": alpha, "weights": "cost", "num_exits": num_exits}
        for alpha in beem_alpha_candidates(error_rates, cost_weights(num_exits))
    ]
    accuracy = [
        {"alpha": alpha, "weights": "accuracy", "accuracies": accuracies}
        for alpha in beem_alpha_candidates(error_rates, accuracies)
    ]
    return cost + accuracy


def budget_grid(num_exits: int) -> Grid:
    """Every exit as a static budget: the per-exit points of the trade-off."""
    return [{"exit_index": index} for index in range(num_exits)]


def default_grids(error_rates: Sequence[float]) -> dict[str, Grid]:
    """The grid of every deployable policy, for a model whose exits have these validation error rates."""
    num_exits = len(error_rates)
    return {
        "entropy": entropy_grid(),
        "maxprob": maxprob_grid(),
        "margin": margin_grid(),
        "patience": patience_grid(num_exits),
        "pcee": pcee_grid(),
        "epee": epee_grid(),
        "fpabee": fpabee_grid(),
        "beem": beem_grid(error_rates),
        "budget": budget_grid(num_exits),
    }
