"""Calibration: simulate every exit policy over its grid on cached validation logits and pick one.

Typical use::

    result = calibrate(val_logits, val_labels, exit_layer_numbers=range(1, 13), num_layers=12,
                       multi_label=False, metric=accuracy)
    point = result.fastest_within(0.01)  # or best_at_speedup(2.0), at_least_last_exit()
    policy = point.make_policy()  # for the runtime; result.to_dict() for the checkpoint
"""

from epee.calibrate.results import SELECTION_RULES, CalibrationResult, PolicyPoint
from epee.calibrate.select import at_least_last_exit, best_at_speedup, fastest_within, pareto_frontier
from epee.calibrate.sweep import calibrate, default_grids, per_exit_error_rates

__all__ = [
    "SELECTION_RULES",
    "CalibrationResult",
    "PolicyPoint",
    "at_least_last_exit",
    "best_at_speedup",
    "calibrate",
    "default_grids",
    "fastest_within",
    "pareto_frontier",
    "per_exit_error_rates",
]
