"""A tiny random checkpoint with a stored exit policy that sends rows out at different layers."""

from __future__ import annotations

import pytest
import torch

from epee.policies import make_policy, policy_params
from tests.helpers import tiny_bert_model

WORDS = "nausea rash dizziness insomnia relief headache fatigue improved worse tremor appetite sleep".split()
TEXTS = [
    f"Patient Zorvex{index} reported {' '.join(WORDS[(index + step) % len(WORDS)] for step in range(1 + index % 9))}"
    for index in range(48)
]
"""Distinct texts, each with a marker word (ZorvexN) that the privacy test looks for in the logs."""


def _threshold_between_rows(model, texts) -> float:
    """A max-probability threshold halfway between two rows' first-exit confidences, far from any row's value."""
    encoded = model.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        first_exit = torch.softmax(model(dict(encoded))[0], dim=-1).max(dim=-1).values.sort().values
    middle = len(texts) // 2
    return float((first_exit[middle - 1] + first_exit[middle]) / 2)


@pytest.fixture(scope="session")
def served_checkpoint(tmp_path_factory):
    """4 layers, 3 labels, mean pooling; head weights scaled up so confidences spread; a maxprob policy
    stored as the calibrated one."""
    torch.manual_seed(0)
    model = tiny_bert_model(labels=("better", "same", "worse"), layers=4, pooling="mean", pooler="none")
    with torch.no_grad():
        for parameter in model.heads.parameters():
            parameter.mul_(10)
    model.eval()
    policy = make_policy("maxprob", threshold=_threshold_between_rows(model, TEXTS))
    model.config.policy = policy_params(policy)
    return model.save_pretrained(tmp_path_factory.mktemp("serve") / "tiny-checkpoint")
