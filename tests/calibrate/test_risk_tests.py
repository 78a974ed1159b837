"""Exact values of the Learn-then-Test p-values and of fixed-sequence testing, computed by hand here."""

import math

import numpy as np
import pytest

from epee.calibrate.risk_tests import (
    BINOMIAL,
    HOEFFDING_BENTKUS,
    binomial_p_value,
    fixed_sequence,
    hoeffding_bentkus_p_value,
    risk_p_value,
    samples_needed,
)
from epee.errors import EpeeError


def binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def test_binomial_p_value_is_the_exact_lower_tail():
    assert binomial_p_value(0, 10, 0.1) == pytest.approx(0.9**10, rel=1e-12)  # 0.3486784401
    assert binomial_p_value(1, 10, 0.1) == pytest.approx(0.9**10 + 10 * 0.1 * 0.9**9, rel=1e-12)  # 0.7360989291
    assert binomial_p_value(3, 200, 0.05) == pytest.approx(binomial_cdf(3, 200, 0.05), rel=1e-10)
    assert binomial_p_value(200, 200, 0.05) == pytest.approx(1.0)


def test_hoeffding_bentkus_takes_the_smaller_bound():
    # n = 100, mean risk 0.05, epsilon 0.1:
    # h1 = 0.05 ln(0.05/0.1) + 0.95 ln(0.95/0.9) = 0.0167083; Hoeffding exp(-1.67083) = 0.188125
    # Bentkus e * P(Bin(100, 0.1) <= 5) = e * 0.0575769 = 0.156510: the smaller
    hoeffding = math.exp(-100 * (0.05 * math.log(0.5) + 0.95 * math.log(0.95 / 0.9)))
    bentkus = math.e * binomial_cdf(5, 100, 0.1)
    assert hoeffding == pytest.approx(0.188125, abs=1e-6) and bentkus == pytest.approx(0.156510, abs=1e-6)
    assert hoeffding_bentkus_p_value(0.05, 100, 0.1) == pytest.approx(bentkus, rel=1e-12)
    # risk 0: the Hoeffding term is exp(-n ln(1/(1 - epsilon))) = 0.9^n, Bentkus e * 0.9^n: Hoeffding wins
    assert hoeffding_bentkus_p_value(0.0, 50, 0.1) == pytest.approx(0.9**50, rel=1e-12)
    # a risk at or above epsilon rejects nothing
    assert hoeffding_bentkus_p_value(0.1, 100, 0.1) == 1.0
    assert hoeffding_bentkus_p_value(0.3, 100, 0.1) == 1.0


def test_risk_p_value_is_exact_for_zero_one_risks_and_hoeffding_bentkus_otherwise():
    zero_one = np.array([0, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 20, dtype=float)  # 20 risky of 200
    assert risk_p_value(zero_one, 0.2) == (pytest.approx(binomial_cdf(20, 200, 0.2), rel=1e-10), BINOMIAL)
    fractions = np.full(100, 0.05)  # each example: a twentieth of its labels risky
    assert risk_p_value(fractions, 0.1) == (
        pytest.approx(math.e * binomial_cdf(5, 100, 0.1), rel=1e-12),
        HOEFFDING_BENTKUS,
    )


@pytest.mark.parametrize("bad", [np.array([]), np.array([0.5, 1.2]), np.array([[0.0]])])
def test_risk_p_value_refuses_risks_outside_the_unit_interval(bad):
    with pytest.raises(EpeeError):
        risk_p_value(bad, 0.1)


def test_fixed_sequence_stops_at_the_first_p_value_above_delta():
    assert fixed_sequence([0.01, 0.02, 0.2, 0.01], 0.1) == 2  # the last one is never reached
    assert fixed_sequence([0.01, 0.1, 0.05], 0.1) == 3  # p <= delta rejects
    assert fixed_sequence([0.5, 0.0], 0.1) == 0
    assert fixed_sequence([], 0.1) == 0
    with pytest.raises(EpeeError, match="delta"):
        fixed_sequence([0.01], 1.5)


def test_samples_needed_is_the_smallest_n_with_one_minus_epsilon_to_the_n_below_delta():
    assert samples_needed(0.02, 0.1) == 114  # 0.98^113 = 0.1018, 0.98^114 = 0.0998
    assert 0.98**113 > 0.1 >= 0.98**114
    assert samples_needed(0.1, 0.1) == 22
