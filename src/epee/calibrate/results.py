"""Calibration results: plain dataclasses with ``to_dict`` / ``from_dict``, stored in checkpoints and reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from epee.calibrate.select import (
    at_least_last_exit,
    best_at_speedup,
    fastest_within,
    pareto_frontier,
    without_degenerate,
)
from epee.errors import EpeeError
from epee.policies import POLICIES, ExitPolicy, make_policy
from epee.policies.registry import upgrade_stored_params

SELECTION_RULES = ("fastest_within", "best_at_speedup", "at_least_last_exit")
"""Names of the selection rules, as :meth:`CalibrationResult.select` takes them (e.g. from the CLI)."""


@dataclass(frozen=True)
class PolicyPoint:
    """One policy with one parameter setting, simulated on the calibration split.

    ``params`` are JSON-ready (lists, not tuples). ``flops_speedup`` is None unless layer and head
    FLOPs were given. ``exit_counts[i]`` is the number of samples that left at exit ``i``.
    ``degenerate`` says why the setting is degenerate on the calibration split (one prediction for
    nearly everyone, or no better than the majority class; :mod:`epee.tasks.degeneracy`), else None.
    """

    policy: str
    params: dict[str, Any]
    metric: float
    mean_exit_layer: float
    layer_speedup: float
    saved_fraction: float
    flops_speedup: float | None
    exit_counts: tuple[int, ...]
    degenerate: str | None = None

    def make_policy(self) -> ExitPolicy:
        """The policy this point describes, ready for the runtime."""
        return make_policy(self.policy, **self.params)

    def to_dict(self) -> dict[str, Any]:
        point = asdict(self)
        point["exit_counts"] = list(self.exit_counts)
        return point

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> PolicyPoint:
        """A stored point; parameters an earlier version named otherwise get today's names (old checkpoints load)."""
        params = stored["params"]
        params = upgrade_stored_params(stored["policy"], params) if stored["policy"] in POLICIES else dict(params)
        return cls(**{**stored, "params": params, "exit_counts": tuple(stored["exit_counts"])})


@dataclass(frozen=True)
class CalibrationResult:
    """Every simulated point, the per-exit metrics and the oracle bound, with the rules that pick one point.

    ``per_exit_metric[i]`` is the metric when every sample uses exit ``i`` (look at it before
    trusting a speed-up); the last one is the reference of the selection rules. ``oracle`` is the
    final-prediction oracle: the speed-up available without changing any prediction, never selected.
    ``majority_metric`` is the metric of the majority-class baseline and ``per_exit_degenerate[i]``
    why exit ``i`` is degenerate (None when it is not); results stored before these checks lack both.
    Rules select among non-degenerate points unless ``allow_degenerate`` is given.
    """

    metric_name: str
    num_layers: int
    exit_layer_numbers: tuple[int, ...]
    multi_label: bool
    num_samples: int
    per_exit_metric: tuple[float, ...]
    points: tuple[PolicyPoint, ...]
    oracle: PolicyPoint
    majority_metric: float | None = None
    per_exit_degenerate: tuple[str | None, ...] = ()

    @property
    def last_exit_metric(self) -> float:
        return self.per_exit_metric[-1]

    @property
    def policies(self) -> tuple[str, ...]:
        """Names of the calibrated policies, in grid order."""
        return tuple(dict.fromkeys(point.policy for point in self.points))

    def points_of(self, policy: str) -> list[PolicyPoint]:
        if policy not in self.policies:
            raise EpeeError(f"Policy {policy!r} was not calibrated; calibrated policies are {self.policies}.")
        return [point for point in self.points if point.policy == policy]

    def frontier(self, policy: str | None = None) -> list[PolicyPoint]:
        """Pareto frontier of metric vs layer speed-up, of one policy or (``None``) of all."""
        return pareto_frontier(self.points if policy is None else self.points_of(policy))

    def fastest_within(self, epsilon: float, *, allow_degenerate: bool = False) -> PolicyPoint:
        """Fastest candidate with metric >= last-exit metric - ``epsilon`` (metric units: 0.01 = 1 point)."""
        return fastest_within(self.candidates(allow_degenerate), self.last_exit_metric, epsilon)

    def best_at_speedup(self, target: float, *, allow_degenerate: bool = False) -> PolicyPoint:
        """Best-metric candidate with layer speed-up >= ``target``."""
        return best_at_speedup(self.candidates(allow_degenerate), target)

    def at_least_last_exit(self, *, allow_degenerate: bool = False) -> PolicyPoint:
        """Fastest candidate with metric >= the last exit's (BEEM's rule)."""
        return at_least_last_exit(self.candidates(allow_degenerate), self.last_exit_metric)

    def candidates(self, allow_degenerate: bool = False) -> tuple[PolicyPoint, ...]:
        """The points every rule selects from: the non-degenerate ones, or all with ``allow_degenerate``."""
        if allow_degenerate:
            return self.points
        usable = tuple(without_degenerate(self.points))
        if not usable:
            last_exit = self.per_exit_degenerate[-1] if self.per_exit_degenerate else None
            raise EpeeError(
                f"The model did not learn: every calibrated setting is degenerate on these {self.num_samples} "
                f"samples, the last exit included ({last_exit or 'see the per-exit table'}). Train longer or on "
                "more data, or pass --allow-degenerate (allow_degenerate=True) to select a setting anyway."
            )
        return usable

    def select(self, rule: str, value: float | None = None, *, allow_degenerate: bool = False) -> PolicyPoint:
        """Apply a rule by name: ``fastest_within`` (value = epsilon), ``best_at_speedup`` (value = target),
        ``at_least_last_exit`` (no value)."""
        self._check_rule(rule, value)
        if rule == "at_least_last_exit":
            return self.at_least_last_exit(allow_degenerate=allow_degenerate)
        if rule == "fastest_within":
            return self.fastest_within(value, allow_degenerate=allow_degenerate)
        return self.best_at_speedup(value, allow_degenerate=allow_degenerate)

    def skipped_as_degenerate(self, rule: str, value: float | None = None) -> PolicyPoint | None:
        """The degenerate point ``rule`` would have picked had degenerate points been allowed, else None.

        Callers tell the user when the degeneracy filter removed the fastest candidate.
        """
        self._check_rule(rule, value)
        try:
            unfiltered = self.select(rule, value, allow_degenerate=True)
        except ValueError:
            return None
        return unfiltered if unfiltered.degenerate else None

    def _check_rule(self, rule: str, value: float | None) -> None:
        if rule not in SELECTION_RULES:
            raise EpeeError(f"Unknown selection rule {rule!r}; choose one of {SELECTION_RULES}.")
        if rule == "at_least_last_exit":
            if value is not None:
                raise EpeeError(f"The at_least_last_exit rule takes no value; got {value}.")
        elif value is None:
            meaning = "epsilon" if rule == "fastest_within" else "target speed-up"
            raise EpeeError(f"The {rule} rule needs a value (its {meaning}).")

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric_name": self.metric_name,
            "num_layers": self.num_layers,
            "exit_layer_numbers": list(self.exit_layer_numbers),
            "multi_label": self.multi_label,
            "num_samples": self.num_samples,
            "per_exit_metric": list(self.per_exit_metric),
            "points": [point.to_dict() for point in self.points],
            "oracle": self.oracle.to_dict(),
            "majority_metric": self.majority_metric,
            "per_exit_degenerate": list(self.per_exit_degenerate),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> CalibrationResult:
        return cls(
            metric_name=stored["metric_name"],
            num_layers=stored["num_layers"],
            exit_layer_numbers=tuple(stored["exit_layer_numbers"]),
            multi_label=stored["multi_label"],
            num_samples=stored["num_samples"],
            per_exit_metric=tuple(stored["per_exit_metric"]),
            points=tuple(PolicyPoint.from_dict(point) for point in stored["points"]),
            oracle=PolicyPoint.from_dict(stored["oracle"]),
            majority_metric=stored.get("majority_metric"),
            per_exit_degenerate=tuple(stored.get("per_exit_degenerate", ())),
        )
