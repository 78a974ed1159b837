"""Valid p-values for "the risk exceeds epsilon" and fixed-sequence testing: the statistics of Learn-then-Test.

Learn-then-Test (Angelopoulos, Bates, Candès, Jordan & Lei, 2021) turns a choice of settings into
hypothesis tests: for each candidate setting, H0 says its expected risk is above ``epsilon``; a
valid p-value rejects H0 when the calibration sample shows otherwise, and a family-wise error rate
procedure at level ``delta`` decides which settings are certified. Then, over the draw of the
calibration sample, P(a certified setting has risk > epsilon) <= delta.

The p-values are a few lines over ``scipy.stats.binom`` (scipy already comes with scikit-learn). We
do not use MAPIE's risk-control module: its p-value function was renamed across releases
(``compute_hoefdding_bentkus_p_value``, ``compute_hoeffdding_...``, ``compute_hoeffding_...``),
and most releases pair it only with Bonferroni, where early exits need fixed-sequence testing.
The values are pinned by exact tests in ``tests/calibrate/test_risk_tests.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import binom

from epee.errors import EpeeError

BINOMIAL = "exact binomial tail"
HOEFFDING_BENTKUS = "Hoeffding-Bentkus"


def _check_level(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise EpeeError(f"{name} must be strictly between 0 and 1; got {value}.")


def binomial_p_value(num_events: int, num_samples: int, epsilon: float) -> float:
    """P(Binomial(n, epsilon) <= k): exact, for risks that are 0 or 1 per example.

    Under H0 (true risk r > epsilon) the count of risky examples is Binomial(n, r), stochastically
    larger than Binomial(n, epsilon), so this tail is a valid (super-uniform) p-value.
    """
    _check_level("epsilon", epsilon)
    return float(binom.cdf(num_events, num_samples, epsilon))


def _bernoulli_kl(mean: float, epsilon: float) -> float:
    """h1(a, b) = a log(a/b) + (1 - a) log((1 - a)/(1 - b)) of the LTT paper, with 0 log 0 = 0."""
    first = 0.0 if mean == 0 else mean * math.log(mean / epsilon)
    second = 0.0 if mean == 1 else (1 - mean) * math.log((1 - mean) / (1 - epsilon))
    return first + second


def hoeffding_bentkus_p_value(mean_risk: float, num_samples: int, epsilon: float) -> float:
    """The Hoeffding-Bentkus p-value of LTT (their eq. for p^HB), for risks anywhere in [0, 1]:

    min( exp(-n h1(min(R, epsilon), epsilon)),  e * P(Binomial(n, epsilon) <= ceil(n R)) ), capped at 1.
    """
    _check_level("epsilon", epsilon)
    hoeffding = math.exp(-num_samples * _bernoulli_kl(min(mean_risk, epsilon), epsilon))
    # round() first: n * R of a mean of n values can land a hair above an integer through float error
    bentkus = math.e * float(binom.cdf(math.ceil(round(num_samples * mean_risk, 9)), num_samples, epsilon))
    return min(hoeffding, bentkus, 1.0)


def risk_p_value(risks: np.ndarray, epsilon: float) -> tuple[float, str]:
    """(p-value of H0 "mean risk > epsilon", method): exact binomial when every risk is 0 or 1, else HB."""
    risks = np.asarray(risks, dtype=np.float64)
    if risks.ndim != 1 or len(risks) == 0:
        raise EpeeError(f"Risks must be a non-empty vector, one per example; got shape {risks.shape}.")
    if risks.min() < 0 or risks.max() > 1:
        raise EpeeError(f"Risks must lie in [0, 1]; got values from {risks.min()} to {risks.max()}.")
    if np.isin(risks, (0.0, 1.0)).all():
        return binomial_p_value(int(risks.sum()), len(risks), epsilon), BINOMIAL
    return hoeffding_bentkus_p_value(float(risks.mean()), len(risks), epsilon), HOEFFDING_BENTKUS


def fixed_sequence(p_values: Sequence[float], delta: float) -> int:
    """How many leading hypotheses fixed-sequence testing at level ``delta`` rejects.

    The order must be fixed before the p-values' data is seen. Each hypothesis is tested at the full
    level ``delta`` while all earlier ones were rejected; the first p-value above ``delta`` stops the
    sequence. This controls the family-wise error rate at ``delta`` (LTT, Proposition on fixed sequence).
    """
    _check_level("delta", delta)
    for index, p_value in enumerate(p_values):
        if p_value > delta:
            return index
    return len(p_values)


def samples_needed(epsilon: float, delta: float) -> int:
    """The fewest examples that can certify anything: with no risky example, (1 - epsilon)^n <= delta."""
    _check_level("epsilon", epsilon)
    _check_level("delta", delta)
    return math.ceil(math.log(delta) / math.log(1 - epsilon))
