"""F-PABEE on a hand-computed sequence: which divergence, in which direction, for how long."""

import math

import pytest
import torch

from epee.policies import make_policy, simulate

# One sample, 4 exits, 2 classes: [0.5, 0.5] then [0.9, 0.1] three times. Between exits 0 and 1:
# KL(prev || cur) = 0.5108, KL(cur || prev) = 0.3681, symmetric 0.8789, JS = 0.1017; afterwards 0.
LAYER_LOGITS = torch.tensor([[[0.5, 0.5]], [[0.9, 0.1]], [[0.9, 0.1]], [[0.9, 0.1]]]).log()


def exit_of(layer_logits=LAYER_LOGITS, multi_label=False, **params):
    return simulate(make_policy("fpabee", **params), layer_logits, multi_label=multi_label).exit_index.item()


@pytest.mark.parametrize(
    ("divergence", "tau", "expected"),
    [
        ("kl", 0.45, 2),  # 0.5108 >= 0.45: the first change is too large
        ("reverse_kl", 0.45, 1),  # 0.3681 < 0.45: the other direction passes
        ("kl", 0.52, 1),
        ("js", 0.11, 1),
        ("js", 0.10, 2),
        ("symmetric_kl", 0.88, 1),
        ("symmetric_kl", 0.87, 2),
    ],
)
def test_divergence_and_direction_decide_the_exit(divergence, tau, expected):
    assert exit_of(tau=tau, patience=1, divergence=divergence) == expected


def test_patience_counts_consecutive_small_changes_and_falls_back():
    assert exit_of(tau=0.45, patience=2, divergence="kl") == 3
    assert exit_of(tau=0.6, patience=2, divergence="kl") == 2
    assert exit_of(tau=0.0, patience=1, divergence="js") == 3  # never below 0: last exit


def test_multi_label_sums_per_label_bernoulli_divergences():
    def logit(q):
        return math.log(q / (1 - q))

    # label 1 moves 0.5 -> 0.9 (KL 0.5108), label 2 stays at 0.3 (0): the sum is 0.5108
    layer_logits = torch.tensor([[[logit(0.5), logit(0.3)]], [[logit(0.9), logit(0.3)]], [[logit(0.9), logit(0.3)]]])
    assert exit_of(layer_logits, multi_label=True, tau=0.52, patience=1, divergence="kl") == 1
    assert exit_of(layer_logits, multi_label=True, tau=0.50, patience=1, divergence="kl") == 2


def test_tau_zero_never_fires_on_an_unchanged_distribution():
    # the same logits at every exit: JS is exactly 0 (clamped), and 0 < 0 is false, so the sample runs to the end
    unchanged = torch.tensor([[[-2.7, 0.0]]]).expand(4, 1, 2)
    assert exit_of(unchanged, tau=0.0, patience=1, divergence="js") == 3
    assert exit_of(unchanged, tau=1e-9, patience=1, divergence="js") == 1
