"""Risk-controlled calibration: the fastest setting certified to keep a risk below epsilon, with probability 1 - delta.

The guarantee (Learn-then-Test, Angelopoulos et al. 2021; for early exits CALM, Schuster et al. 2022,
and Jazbec et al. 2024): over the draw of the calibration sample, P(risk of the chosen setting >
epsilon) <= delta, where the risk is the expected per-example risk on new data from the same source.

Risks per example, in [0, 1] (:func:`example_risks`):

- ``consistency``: the early answer differs from the last exit's answer. It needs no labels, so a
  hospital can calibrate on its own unlabeled notes.
- ``error_gap``: the early answer is wrong where the last exit is right (needs labels).

Multi-label, an example counts as risky when any label is (``per_label=False``, a 0/1 risk tested
exactly) or by the fraction of its labels that are (``per_label=True``, tested with Hoeffding-Bentkus).

The procedure (:func:`control_risk`). The calibration sample is split once, seeded: an *ordering*
part (a quarter) and a *testing* part. On the ordering part only, every policy's grid is built and
simulated, and the candidates are the settings no other beats on both risk and layer speed-up there,
ordered from the slowest (most conservative) to the fastest. That order is fixed before the testing
part is looked at, so fixed-sequence testing at level delta on the testing part is valid for every
policy's grid at once, multi-parameter ones included. The chosen setting is the fastest certified one
(on the whole sample); when none is certified, the model runs to full depth and the certificate says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from epee.calibrate.risk_tests import fixed_sequence, risk_p_value, samples_needed
from epee.calibrate.sweep import default_grids
from epee.errors import EpeeError
from epee.policies import DEPLOYABLE_POLICIES, ExitTables, fast_exit_index, make_policy, policy_params
from epee.policies.simulate import check_layer_logits
from epee.runtime.exit_logits import predictions_from_logits
from epee.runtime.speed import layer_speedup

RISKS = ("consistency", "error_gap")
ORDERING_FRACTION = 0.25


@dataclass(frozen=True)
class RiskSettings:
    """What to certify: ``risk`` <= ``epsilon`` (a fraction: 0.02 = 2% of answers) w.p. >= 1 - ``delta``."""

    risk: str = "consistency"
    epsilon: float = 0.02
    delta: float = 0.1
    per_label: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.risk not in RISKS:
            raise EpeeError(f"Unknown risk {self.risk!r}; choose one of {RISKS}.")
        for name in ("epsilon", "delta"):
            if not 0 < getattr(self, name) < 1:
                raise EpeeError(f"The risk rule's {name} must be strictly between 0 and 1; got {getattr(self, name)}.")


def example_risks(
    risk: str,
    predictions: np.ndarray,
    final_predictions: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    per_label: bool = False,
) -> np.ndarray:
    """Each example's risk ``[batch]`` in [0, 1] for predictions ``[batch]`` (class ids) or ``[batch, labels]`` (0/1).

    ``consistency`` never reads ``labels``; ``error_gap`` needs them.
    """
    if risk not in RISKS:
        raise EpeeError(f"Unknown risk {risk!r}; choose one of {RISKS}.")
    if risk == "consistency":
        risky = predictions != final_predictions
    else:
        if labels is None:
            raise EpeeError("The error_gap risk needs labels; calibrate on labelled data or use the consistency risk.")
        risky = (predictions != labels) & (final_predictions == labels)
    if risky.ndim == 1:
        return risky.astype(np.float64)
    return risky.mean(axis=1) if per_label else risky.any(axis=1).astype(np.float64)


@dataclass(frozen=True)
class RiskCertificate:
    """What was certified, stated so a reader can check it: stored in the checkpoint, printed by the CLI.

    ``num_samples`` examples tested the candidates (``num_ordering`` others only ordered them);
    ``p_value`` and ``empirical_risk`` are the chosen setting's on the testing part. ``certified`` is
    False when no candidate passed: the model then runs to full depth and nothing is claimed.
    """

    risk: str
    per_label: bool
    epsilon: float
    delta: float
    num_samples: int
    num_ordering: int
    method: str
    p_value: float
    empirical_risk: float
    certified: bool
    policy: str
    params: dict[str, Any]
    layer_speedup: float
    candidates: int
    certified_candidates: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> RiskCertificate:
        return cls(**{**stored, "params": dict(stored["params"])})

    def statement(self) -> str:
        """The guarantee in plain words."""
        what = {
            "consistency": "of answers differ from the full model",
            "error_gap": "of answers are wrong where the full model is right",
        }[self.risk]
        if self.per_label:
            what = what.replace("of answers", "of labels, averaged over answers,")
        if not self.certified:
            return (
                f"No faster setting could be certified to keep at most {100 * self.epsilon:g}% {what} with "
                f"probability at least {100 * (1 - self.delta):g}% on these {self.num_samples} calibration "
                f"examples, so the model runs to full depth. Calibrate on more examples or allow a larger epsilon."
            )
        return (
            f"With probability at least {100 * (1 - self.delta):g}% over the calibration sample, at most "
            f"{100 * self.epsilon:g}% {what} ({self.policy}, layer speed-up {self.layer_speedup:.2f}x; "
            f"{self.method} p-value {self.p_value:.2g} on {self.num_samples} examples, risk seen "
            f"{100 * self.empirical_risk:.2f}%)."
        )


@dataclass(frozen=True)
class RiskControl:
    """The chosen setting with its certificate, and the tested candidates in test order (for tables)."""

    certificate: RiskCertificate
    tested: tuple[dict[str, Any], ...]

    @property
    def policy(self) -> str:
        return self.certificate.policy

    @property
    def params(self) -> dict[str, Any]:
        return self.certificate.params


def split_for_ordering(
    num_samples: int, seed: int, fraction: float = ORDERING_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """(ordering rows, testing rows): a seeded random split, the ordering part ``fraction`` of the sample."""
    order = np.random.default_rng(seed).permutation(num_samples)
    cut = max(1, round(fraction * num_samples))
    return np.sort(order[:cut]), np.sort(order[cut:])


def _frontier_order(risks: np.ndarray, speedups: np.ndarray) -> list[int]:
    """Indices of points no other beats on (lower risk, higher speed-up), from the slowest to the fastest.

    Ties keep the earlier point of the grid, so the order depends on nothing but the ordering data.
    """
    order = sorted(range(len(risks)), key=lambda index: (risks[index], -speedups[index], index))
    frontier: list[int] = []
    for index in order:
        if not frontier or speedups[index] > speedups[frontier[-1]]:
            frontier.append(index)
    return frontier


def control_risk(
    layer_logits: torch.Tensor,
    labels: np.ndarray | None,
    *,
    exit_layer_numbers: Sequence[int],
    num_layers: int,
    multi_label: bool,
    risk: str,
    epsilon: float,
    delta: float,
    per_label: bool = False,
    policies: Sequence[str] = DEPLOYABLE_POLICIES,
    seed: int = 0,
    exits: Callable[[str, dict[str, Any]], np.ndarray] | None = None,
) -> RiskControl:
    """The fastest setting of ``policies`` certified to keep ``risk`` <= ``epsilon`` w.p. >= 1 - ``delta``.

    ``layer_logits`` ``[exits, batch, classes]`` are the calibration sample's; ``labels`` may be None
    for the ``consistency`` risk, which never reads them. See the module docstring for the procedure.
    ``exits(policy, params)`` gives a setting's exit index per example; by default it is simulated on
    ``layer_logits`` (the simulation benchmark passes a memo over a larger pool of rows).
    """
    check_layer_logits(layer_logits)
    if per_label and not multi_label:
        raise EpeeError(
            "per_label risks are for multi-label models; a single-label answer is right or wrong as a whole."
        )
    num_samples = layer_logits.shape[1]
    if labels is not None and len(labels) != num_samples:
        raise EpeeError(f"Got {len(labels)} labels for {num_samples} samples of cached logits.")
    ordering, testing = split_for_ordering(num_samples, seed)
    needed = samples_needed(epsilon, delta)
    if len(testing) < needed:
        raise EpeeError(
            f"Certifying a risk of at most {epsilon:g} with probability {1 - delta:g} needs at least {needed} testing "
            f"examples, and {num_samples} calibration examples leave {len(testing)} after the ordering quarter; "
            f"calibrate on at least {round(needed / (1 - ORDERING_FRACTION)) + 1} examples or allow a larger epsilon."
        )
    predictions = predictions_from_logits(layer_logits, multi_label)  # [exits, batch(, labels)]
    final = predictions[-1]
    # The grid is built from the ordering part only (BEEM's thresholds come from per-exit rates): the
    # rates of disagreeing with the last exit, which need no labels.
    disagreement = [
        float(example_risks("consistency", exit_predictions[ordering], final[ordering]).mean())
        for exit_predictions in predictions
    ]
    grids = default_grids(policies, disagreement)
    layer_numbers = np.asarray(exit_layer_numbers, dtype=np.int64)
    if exits is None:
        tables = ExitTables(layer_logits, multi_label)

        def exits(name: str, params: dict[str, Any]) -> np.ndarray:
            return fast_exit_index(make_policy(name, **params), tables).cpu().numpy()

    rows = np.arange(num_samples)
    settings, per_example = [], []
    for name in policies:
        for params in grids[name]:
            params = policy_params(make_policy(name, **params))["params"]
            chosen = exits(name, params)
            settings.append((name, params, layer_numbers[chosen]))
            per_example.append(example_risks(risk, predictions[chosen, rows], final, labels, per_label=per_label))
    ordering_risks = np.asarray([risks[ordering].mean() for risks in per_example])
    ordering_speedups = np.asarray([layer_speedup(layers[ordering], num_layers) for _, _, layers in settings])
    candidates = _frontier_order(ordering_risks, ordering_speedups)
    tests = [risk_p_value(per_example[index][testing], epsilon) for index in candidates]
    certified = fixed_sequence([p_value for p_value, _ in tests], delta)
    tested = tuple(
        {
            "policy": settings[index][0],
            "params": settings[index][1],
            "ordering_risk": float(ordering_risks[index]),
            "ordering_layer_speedup": float(ordering_speedups[index]),
            "testing_risk": float(per_example[index][testing].mean()),
            "p_value": p_value,
            "certified": position < certified,
        }
        for position, (index, (p_value, _)) in enumerate(zip(candidates, tests, strict=True))
    )
    speedups = [layer_speedup(layers, num_layers) for _, _, layers in settings]
    if certified:
        position = max(range(certified), key=lambda place: (speedups[candidates[place]], -place))
        index = candidates[position]
        name, params, _ = settings[index]
        (p_value, method), found = tests[position], True
        empirical = float(per_example[index][testing].mean())
        speedup = speedups[index]
    else:
        name, params = "budget", policy_params(make_policy("budget", exit_layer=len(exit_layer_numbers)))["params"]
        p_value, method, found, empirical = 1.0, tests[0][1] if tests else "none", False, 0.0
        speedup = float(num_layers / exit_layer_numbers[-1])
    certificate = RiskCertificate(
        risk=risk,
        per_label=per_label,
        epsilon=epsilon,
        delta=delta,
        num_samples=len(testing),
        num_ordering=len(ordering),
        method=method,
        p_value=p_value,
        empirical_risk=empirical,
        certified=found,
        policy=name,
        params=params,
        layer_speedup=speedup,
        candidates=len(candidates),
        certified_candidates=certified,
        seed=seed,
    )
    return RiskControl(certificate, tested)
