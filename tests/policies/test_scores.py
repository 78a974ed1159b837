"""Scores on hand-computed values: entropy, confidence, margin and true divergences."""

import math

import pytest
import torch

from epee.policies.scores import DIVERGENCES, divergence, entropy, log_distribution, margin, max_probability


def log(probs):
    return torch.tensor(probs).log()


def test_entropy_raw_and_normalised_single_label():
    logits = log([[0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0.0 + 1e-30, 1e-30]])
    raw = entropy(logits, multi_label=False, normalized=False)
    assert raw.tolist() == pytest.approx([math.log(4), math.log(2)], abs=1e-6)
    assert entropy(logits, multi_label=False, normalized=True).tolist() == pytest.approx([1.0, 0.5], abs=1e-6)


def test_entropy_multi_label_is_mean_bernoulli_entropy_over_ln2():
    p = [0.5, 0.9]
    logits = torch.tensor([[math.log(q / (1 - q)) for q in p]])
    bernoulli = [-(q * math.log(q) + (1 - q) * math.log(1 - q)) for q in p]
    expected = sum(bernoulli) / 2
    assert entropy(logits, multi_label=True, normalized=False).item() == pytest.approx(expected, rel=1e-5)
    assert entropy(logits, multi_label=True, normalized=True).item() == pytest.approx(expected / math.log(2), rel=1e-5)


def test_confidence_and_margin_single_and_multi_label():
    single = log([[0.6, 0.3, 0.1]])
    assert max_probability(single, multi_label=False).item() == pytest.approx(0.6, abs=1e-6)
    assert margin(single, multi_label=False).item() == pytest.approx(0.3, abs=1e-6)
    p = torch.tensor([[0.9, 0.2, 0.7]])
    multi = (p / (1 - p)).log()
    assert max_probability(multi, multi_label=True).item() == pytest.approx(0.7, abs=1e-6)  # min max(p, 1-p)
    assert margin(multi, multi_label=True).item() == pytest.approx(0.4, abs=1e-6)  # min |2p - 1|


def _kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True))


PREVIOUS, CURRENT = [0.5, 0.5], [0.9, 0.1]
MIXTURE = [0.7, 0.3]
EXPECTED = {
    "kl": _kl(PREVIOUS, CURRENT),  # 0.5108
    "reverse_kl": _kl(CURRENT, PREVIOUS),  # 0.3681
    "symmetric_kl": _kl(PREVIOUS, CURRENT) + _kl(CURRENT, PREVIOUS),
    "js": 0.5 * _kl(PREVIOUS, MIXTURE) + 0.5 * _kl(CURRENT, MIXTURE),  # 0.1017
}


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_divergences_match_hand_computed_values(kind):
    log_p = log_distribution(log([PREVIOUS]), multi_label=False)
    log_q = log_distribution(log([CURRENT]), multi_label=False)
    assert divergence(log_p, log_q, kind).item() == pytest.approx(EXPECTED[kind], rel=1e-5)


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_divergence_of_a_distribution_with_itself_is_zero_not_its_entropy(kind):
    # F-PABEE's released "KL" was a cross-entropy, which is H(p) > 0 here.
    log_p = log_distribution(log([[0.2, 0.3, 0.5]]), multi_label=False)
    assert divergence(log_p, log_p, kind).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_multi_label_divergence_sums_per_label_bernoulli_divergences(kind):
    def logit(q):
        return math.log(q / (1 - q))

    previous = torch.tensor([[logit(0.5), logit(0.3)]])
    current = torch.tensor([[logit(0.9), logit(0.3)]])  # label 2 unchanged: contributes 0
    value = divergence(log_distribution(previous, True), log_distribution(current, True), kind)
    assert value.item() == pytest.approx(EXPECTED[kind], rel=1e-4)


def test_divergence_stays_finite_for_saturated_logits():
    log_p = log_distribution(torch.tensor([[200.0, -200.0]]), multi_label=False)
    log_q = log_distribution(torch.tensor([[-200.0, 200.0]]), multi_label=False)
    assert torch.isfinite(divergence(log_p, log_q, "kl")).all()


def test_divergence_is_clamped_at_zero():
    # JS of this distribution with itself comes out at -2.8e-8 in float32 without the clamp
    log_p = log_distribution(torch.tensor([[-2.7, 0.0]]), multi_label=False)
    assert divergence(log_p, log_p, "js").item() == 0.0
    log_labels = log_distribution(torch.tensor([[-3.0, -2.9]]), multi_label=True)
    assert divergence(log_labels, log_labels, "js").item() == 0.0
