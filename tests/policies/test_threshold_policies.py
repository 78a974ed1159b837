"""Exact exits of the single-exit-test policies: entropy, max-probability, margin, budget."""

import math

import torch

from epee.policies import make_policy, simulate


def log(probs):
    return torch.tensor(probs).log()


# [exits=4, batch=3, classes=2]: sample 0 is sure from exit 0, sample 1 from exit 2, sample 2 never.
LAYER_LOGITS = log(
    [
        [[0.99, 0.01], [0.6, 0.4], [0.5, 0.5]],
        [[0.99, 0.01], [0.7, 0.3], [0.5, 0.5]],
        [[0.99, 0.01], [0.95, 0.05], [0.5, 0.5]],
        [[0.99, 0.01], [0.97, 0.03], [0.5, 0.5]],
    ]
)


def exits(name, multi_label=False, layer_logits=LAYER_LOGITS, **params):
    return simulate(make_policy(name, **params), layer_logits, multi_label=multi_label).exit_index.tolist()


def test_entropy_fires_at_exit_0_and_falls_back_to_the_last_exit():
    # normalised entropies: 0.081 | 0.971, 0.881, 0.286, 0.194 | 1.0
    assert exits("entropy", tau=0.3) == [0, 2, 3]
    assert exits("entropy", tau=0.0) == [3, 3, 3]  # never fires: last exit


def test_raw_entropy_thresholds_nats():
    # raw entropy of [0.95, 0.05] is 0.199 nats, normalised 0.286
    assert exits("entropy", tau=0.2, normalized=False) == [0, 2, 3]
    assert exits("entropy", tau=0.2, normalized=True) == [0, 3, 3]


def test_maxprob_and_margin():
    assert exits("maxprob", threshold=0.95) == [0, 2, 3]
    assert exits("maxprob", threshold=0.7) == [0, 1, 3]
    assert exits("margin", threshold=0.9) == [0, 2, 3]  # margins 0.98 | 0.2, 0.4, 0.9, 0.94
    assert exits("margin", threshold=0.99) == [3, 3, 3]  # no margin reaches 0.99: the last exit


def test_multi_label_maxprob_needs_every_label_sure():
    def logit(q):
        return math.log(q / (1 - q))

    # [exits=3, batch=1, labels=2]: label 2 becomes sure only at exit 1
    layer_logits = torch.tensor([[[logit(0.99), logit(0.6)]], [[logit(0.99), logit(0.02)]], [[logit(0.5), logit(0.5)]]])
    assert exits("maxprob", multi_label=True, layer_logits=layer_logits, threshold=0.95) == [1]
    assert exits("margin", multi_label=True, layer_logits=layer_logits, threshold=0.9) == [1]
    assert exits("entropy", multi_label=True, layer_logits=layer_logits, tau=0.15) == [1]  # 0.111 at exit 1


def test_budget_exits_every_sample_at_its_exit():
    assert exits("budget", exit_layer=1) == [0, 0, 0]
    assert exits("budget", exit_layer=3) == [2, 2, 2]
    assert exits("budget", exit_layer=10) == [3, 3, 3]  # beyond the model: last exit
