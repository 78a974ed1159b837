"""Risk-controlled selection on hand-made logits: per-example risks, the candidate order, the certificate."""

import math

import numpy as np
import pytest
import torch

from epee.calibrate.risk import control_risk, example_risks, split_for_ordering
from epee.calibrate.risk_tests import BINOMIAL
from epee.errors import EpeeError


def binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def test_consistency_and_error_gap_per_example():
    early, final, labels = np.array([0, 1, 2, 1]), np.array([0, 2, 2, 0]), np.array([0, 2, 1, 1])
    assert example_risks("consistency", early, final).tolist() == [0, 1, 0, 1]
    # wrong early AND right at the last exit: only row 1 (row 3 is right early, row 2 wrong at both)
    assert example_risks("error_gap", early, final, labels).tolist() == [0, 1, 0, 0]
    with pytest.raises(EpeeError, match="needs labels"):
        example_risks("error_gap", early, final)
    with pytest.raises(EpeeError, match="Unknown risk"):
        example_risks("calibration", early, final)


def test_multi_label_risks_any_label_or_fraction_of_labels():
    early = np.array([[1, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 0]])
    final = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 0, 1]])
    labels = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 0, 0]])
    assert example_risks("consistency", early, final).tolist() == [0, 1, 1]
    assert example_risks("consistency", early, final, per_label=True).tolist() == [0, 0.5, 0.25]
    assert example_risks("error_gap", early, final, labels).tolist() == [0, 1, 0]  # row 2: right early
    assert example_risks("error_gap", early, final, labels, per_label=True).tolist() == [0, 0.5, 0]


def exits_that_disagree(num_samples: int, disagree: list[np.ndarray]) -> torch.Tensor:
    """Confident logits ``[exits, batch, 2]``: the last exit says class 1; exit i says 0 where ``disagree[i]``."""
    exits = len(disagree) + 1
    answers = np.ones((exits, num_samples), dtype=np.int64)
    for index, rows in enumerate(disagree):
        answers[index, rows] = 0
    return torch.nn.functional.one_hot(torch.as_tensor(answers), 2).float() * 20.0


SETTINGS = {"exit_layer_numbers": [1, 2, 3], "num_layers": 3, "multi_label": False}


def test_all_certified_chooses_the_fastest():
    logits = exits_that_disagree(400, [np.array([], dtype=int), np.array([], dtype=int)])
    chosen = control_risk(logits, None, **SETTINGS, risk="consistency", epsilon=0.05, delta=0.1, policies=("budget",))
    certificate = chosen.certificate
    assert (certificate.policy, certificate.params) == ("budget", {"exit_layer": 1})
    assert certificate.certified and certificate.layer_speedup == 3.0
    # three budget points, all at risk 0 on the ordering part: only the fastest is a candidate
    assert certificate.candidates == certificate.certified_candidates == 1
    assert (certificate.num_ordering, certificate.num_samples) == (100, 300)
    assert certificate.p_value == pytest.approx(0.95**300, rel=1e-10) and certificate.method == BINOMIAL
    assert certificate.empirical_risk == 0.0
    assert "at least 90% over the calibration sample, at most 5% of answers differ from the full model" in (
        certificate.statement()
    )


def test_the_sequence_stops_at_the_first_uncertified_candidate():
    rows = np.arange(400)
    logits = exits_that_disagree(400, [rows[rows % 2 == 0], rows[rows % 50 == 0]])  # exit 1: 50%, exit 2: 2%
    chosen = control_risk(logits, None, **SETTINGS, risk="consistency", epsilon=0.1, delta=0.1, policies=("budget",))
    _, testing = split_for_ordering(400, seed=0)
    risky = int((testing % 50 == 0).sum())
    assert [entry["params"]["exit_layer"] for entry in chosen.tested] == [3, 2, 1]  # slowest first
    assert [entry["certified"] for entry in chosen.tested] == [True, True, False]
    assert [entry["p_value"] for entry in chosen.tested][:2] == [
        pytest.approx(0.9**300, rel=1e-10),
        pytest.approx(binomial_cdf(risky, 300, 0.1), rel=1e-10),
    ]
    certificate = chosen.certificate
    assert (certificate.params, certificate.certified_candidates, certificate.layer_speedup) == (
        {"exit_layer": 2},
        2,
        1.5,
    )
    assert certificate.empirical_risk == risky / 300


def test_nothing_certified_falls_back_to_full_depth_and_says_so():
    rows = np.arange(200)
    half = rows[rows % 2 == 0]
    logits = exits_that_disagree(200, [half, half])  # confident early exits, wrong half the time
    chosen = control_risk(logits, None, **SETTINGS, risk="consistency", epsilon=0.05, delta=0.1, policies=("entropy",))
    certificate = chosen.certificate
    assert not certificate.certified and certificate.certified_candidates == 0
    assert (certificate.policy, certificate.params) == ("budget", {"exit_layer": 3})
    assert certificate.layer_speedup == 1.0 and certificate.p_value == 1.0
    assert all(not entry["certified"] for entry in chosen.tested)
    assert "runs to full depth" in certificate.statement()


def test_consistency_never_reads_labels():
    rows = np.arange(400)
    logits = exits_that_disagree(400, [rows[rows % 2 == 0], rows[rows % 50 == 0]])
    settings = dict(**SETTINGS, risk="consistency", epsilon=0.1, delta=0.1)
    without = control_risk(logits, None, **settings)
    garbage = np.full(400, -7)  # not even a class id: any use of it would change a risk or fail
    assert control_risk(logits, garbage, **settings) == without


def test_error_gap_uses_labels():
    rows = np.arange(400)
    logits = exits_that_disagree(400, [rows[rows % 2 == 0], rows[rows % 50 == 0]])
    # the last exit (class 1) is wrong wherever exit 1 disagrees: exit 1 then never loses a right answer
    labels = np.where(rows % 2 == 0, 0, 1)
    chosen = control_risk(logits, labels, **SETTINGS, risk="error_gap", epsilon=0.1, delta=0.1, policies=("budget",))
    assert chosen.certificate.params == {"exit_layer": 1} and chosen.certificate.empirical_risk == 0.0


def test_too_few_examples_to_certify_anything_is_one_sentence():
    logits = exits_that_disagree(100, [np.array([], dtype=int), np.array([], dtype=int)])
    with pytest.raises(EpeeError, match="needs at least 114 testing examples"):
        control_risk(logits, None, **SETTINGS, risk="consistency", epsilon=0.02, delta=0.1)
    with pytest.raises(EpeeError, match="multi-label"):
        control_risk(logits, None, **SETTINGS, risk="consistency", epsilon=0.1, delta=0.1, per_label=True)
