"""Calibration: simulate every exit policy over its grid on cached validation logits and pick one.

Typical use::

    result = calibrate(val_logits, val_labels, exit_layer_numbers=range(1, 13), num_layers=12,
                       multi_label=False, metric=accuracy)
    point = result.fastest_within(0.01)  # or best_at_speedup(2.0), at_least_last_exit()
    policy = point.make_policy()  # for the runtime; result.to_dict() for the checkpoint

or, with a guarantee instead of a rule of thumb (labels optional for the consistency risk)::

    chosen = control_risk(val_logits, None, exit_layer_numbers=range(1, 13), num_layers=12,
                          multi_label=False, risk="consistency", epsilon=0.02, delta=0.1)
    chosen.certificate.statement()  # "With probability at least 90% ... at most 2% of answers differ ..."
"""

from epee.calibrate.results import SELECTION_RULES, CalibrationResult, PolicyPoint
from epee.calibrate.risk import RISKS, RiskCertificate, RiskControl, control_risk
from epee.calibrate.select import at_least_last_exit, best_at_speedup, fastest_within, pareto_frontier
from epee.calibrate.sweep import calibrate, default_grids, per_exit_error_rates

__all__ = [
    "RISKS",
    "SELECTION_RULES",
    "CalibrationResult",
    "PolicyPoint",
    "RiskCertificate",
    "RiskControl",
    "at_least_last_exit",
    "best_at_speedup",
    "calibrate",
    "control_risk",
    "default_grids",
    "fastest_within",
    "pareto_frontier",
    "per_exit_error_rates",
]
