"""PABEE patience, PCEE and EPEE on hand-made prediction sequences."""

import math

import pytest
import torch

from epee.policies import make_policy, simulate


def sequence_logits(classes_per_sample, confidences_per_sample, num_classes=3):
    """Logits [exits, batch, classes] whose argmax follows ``classes`` with top probability ``confidence``."""
    probs = []
    for classes, confidences in zip(classes_per_sample, confidences_per_sample, strict=True):
        rows = []
        for cls, confidence in zip(classes, confidences, strict=True):
            row = [(1 - confidence) / (num_classes - 1)] * num_classes
            row[cls] = confidence
            rows.append(row)
        probs.append(rows)
    return torch.tensor(probs).log().transpose(0, 1).contiguous()


def exits(name, layer_logits, multi_label=False, **params):
    return simulate(make_policy(name, **params), layer_logits, multi_label=multi_label).exit_index.tolist()


LOW = 0.4  # top probability of an unsure exit (normalised entropy 0.96 for 3 classes)
HIGH = 0.98  # a sure exit (normalised entropy 0.11)


def test_patience_one_exits_at_exit_index_one_at_the_earliest():
    layer_logits = sequence_logits([[0, 0, 0, 0], [2, 2, 2, 2]], [[HIGH] * 4, [LOW] * 4])
    assert exits("patience", layer_logits, patience=1) == [1, 1]  # layer 2, however sure exit 0 is
    assert exits("patience", layer_logits, patience=0) == [0, 0]


def test_patience_counts_consecutive_unchanged_predictions_and_falls_back():
    layer_logits = sequence_logits(
        [[0, 1, 1, 1, 1], [0, 1, 0, 1, 0], [2, 2, 1, 1, 1]], [[LOW] * 5, [LOW] * 5, [LOW] * 5]
    )
    assert exits("patience", layer_logits, patience=2) == [3, 4, 4]
    assert exits("patience", layer_logits, patience=1) == [2, 4, 1]


def test_multi_label_patience_compares_whole_label_vectors():
    sure = math.log(0.9 / 0.1)
    on_off = torch.tensor([[1, 0], [1, 1], [1, 1], [1, 1], [0, 1]], dtype=torch.float)  # exit by exit
    layer_logits = ((on_off * 2 - 1) * sure)[:, None, :]  # [exits=5, batch=1, labels=2]
    assert exits("patience", layer_logits, multi_label=True, patience=1) == [2]
    assert exits("patience", layer_logits, multi_label=True, patience=2) == [3]
    assert exits("patience", layer_logits, multi_label=True, patience=3) == [4]  # changed at exit 4: fallback


def test_pcee_needs_consecutive_confident_exits():
    layer_logits = sequence_logits([[0, 1, 2, 0, 1], [0, 0, 0, 0, 0]], [[HIGH, LOW, HIGH, HIGH, HIGH], [LOW] * 5])
    assert exits("pcee", layer_logits, tau=0.2, patience=1) == [0, 4]
    assert exits("pcee", layer_logits, tau=0.2, patience=2) == [3, 4]  # the run restarts at exit 2


def test_epee_exits_at_the_first_of_the_entropy_and_patience_tests():
    layer_logits = sequence_logits(
        [[0, 1, 0, 1, 0, 1], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]],
        [[LOW, HIGH, LOW, LOW, LOW, LOW], [LOW] * 6, [LOW, LOW, LOW, HIGH, LOW, LOW]],
    )
    # sample 0: entropy at exit 1, patience never; sample 1: patience (t=2) at exit 2; sample 2: patience first
    assert exits("epee", layer_logits, tau=0.2, patience=2) == [1, 2, 2]
    assert exits("epee", layer_logits, tau=0.2, patience=4) == [1, 4, 3]  # sample 2: entropy first


@pytest.mark.parametrize(("tau", "patience"), [(0.01, 1), (0.3, 2), (0.6, 4), (0.0, 3)])
@pytest.mark.parametrize("multi_label", [False, True])
def test_epee_is_the_minimum_of_entropy_and_patience(tau, patience, multi_label):
    generator = torch.Generator().manual_seed(3)
    layer_logits = torch.randn(8, 64, 3, generator=generator) * 2.5
    epee = torch.tensor(exits("epee", layer_logits, multi_label, tau=tau, patience=patience))
    by_entropy = torch.tensor(exits("entropy", layer_logits, multi_label, tau=tau, normalized=True))
    by_patience = torch.tensor(exits("patience", layer_logits, multi_label, patience=patience))
    assert torch.equal(epee, torch.minimum(by_entropy, by_patience))
