"""Rows admitted into the layer loop at any layer boundary answer exactly what ``predict`` answers."""

from __future__ import annotations

import pytest
import torch

from epee.errors import EpeeError
from epee.models.families.base import BackboneFamily
from epee.policies import make_policy
from epee.runtime import predict
from epee.runtime.dynamic import LayerLoop, early_exit_forward
from epee.runtime.predict import encode_batch
from tests.helpers import tiny_bert_model
from tests.runtime.test_dynamic_equals_simulation import _inputs as _family_inputs
from tests.runtime.test_dynamic_equals_simulation import _model as _family_model
from tests.tiny_configs import CONFIGS

WORDS = "fever cough rash relief nausea sleep pain better worse tired".split()
TEXTS = [" ".join(WORDS[(row + step) % len(WORDS)] for step in range(1 + (row * 7) % 23)) for row in range(20)]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = tiny_bert_model(labels=("a", "b", "c"), layers=4, pooling="mean", pooler="none")
    with torch.no_grad():
        for parameter in model.heads.parameters():
            parameter.mul_(10)
    return model.eval()


def _threshold(model) -> float:
    """A max-probability threshold between two rows' first-exit confidences, so rows leave at several exits."""
    encoded = encode_batch(model, TEXTS)
    with torch.inference_mode():
        first = torch.softmax(model(encoded)[0], dim=-1).max(dim=-1).values.sort().values
    return float((first[9] + first[10]) / 2)


@pytest.mark.parametrize("arrivals", [[0, 0, 0, 0], [0, 1, 2, 5], [3, 0, 1, 1], [0, 4, 4, 8]])
@pytest.mark.parametrize("policy_name", ["maxprob", "patience"])
def test_rows_admitted_at_any_layer_boundary_equal_predict(model, arrivals, policy_name):
    """Four groups of five rows of different lengths join after the given numbers of layer steps."""
    policy = (
        make_policy("maxprob", threshold=_threshold(model))
        if policy_name == "maxprob"
        else make_policy("patience", patience=1)
    )
    expected = predict(model, TEXTS, policy=policy, batch_size=7)
    loop = LayerLoop(model, policy)
    logits = torch.full((len(TEXTS), 3), float("nan"))
    exit_index = torch.full((len(TEXTS),), -1)
    groups = [list(range(start, start + 5)) for start in range(0, len(TEXTS), 5)]
    waiting = sorted(zip(arrivals, range(len(groups)), strict=True))
    steps = joined = 0
    while waiting or loop.active_rows:
        while waiting and waiting[0][0] <= steps:
            rows = groups[waiting.pop(0)[1]]
            joined += loop.active_rows > 0  # the group joins rows that are already running
            loop.admit(encode_batch(model, [TEXTS[row] for row in rows]), torch.tensor(rows))
        if loop.active_rows:
            exited = loop.step()
            if exited is not None:
                logits[exited.row_ids] = exited.logits
                exit_index[exited.row_ids] = exited.exit_index
        steps += 1
    exit_layer = torch.as_tensor(model.exit_layers)[exit_index]
    assert exit_layer.tolist() == expected.exit_layer.tolist()
    assert len(set(exit_layer.tolist())) >= 2  # rows really leave at several exits
    probabilities = torch.softmax(logits, dim=-1)
    torch.testing.assert_close(probabilities, expected.probabilities, atol=1e-5, rtol=0)
    assert [["a", "b", "c"][index] for index in logits.argmax(-1).tolist()] == expected.labels
    if arrivals != [0, 0, 0, 0]:
        assert joined  # some rows really joined others mid-depth


def test_a_family_that_has_not_said_how_to_join_rows_refuses(model):
    state = model.family.embed(encode_batch(model, TEXTS[:2]))
    with pytest.raises(EpeeError, match="cannot join rows mid-depth"):
        BackboneFamily.concat_states(model.family, [state, state])


@pytest.mark.parametrize("model_type", sorted(name for name in CONFIGS if name != "vit"))
def test_every_family_joins_rows_exactly_or_refuses(model_type):
    """Groups of rows with different padded lengths join mid-depth; each row answers what its own batch answers."""
    model = _family_model(model_type, multi_label=False)
    inputs = _family_inputs(model.backbone.config)
    groups = [torch.arange(start, start + 8) for start in range(0, 32, 8)]
    if not model.family.joins_states:
        state = model.family.embed(_rows(inputs, groups[0]))
        with pytest.raises(EpeeError, match="cannot join rows mid-depth"):
            model.family.concat_states([state, state])
        return
    first_exit = torch.softmax(model(inputs)[0], dim=-1).max(dim=-1).values.median()
    policy = make_policy("maxprob", threshold=float(first_exit))
    expected = early_exit_forward(model, inputs, policy)
    loop = LayerLoop(model, policy)
    logits, exit_index = torch.zeros_like(expected.logits), torch.full_like(expected.exit_index, -1)
    arrivals, steps = {0: [0], 1: [1], 2: [2, 3]}, 0
    while steps in arrivals or loop.active_rows:
        for group in arrivals.get(steps, []):
            loop.admit(_rows(inputs, groups[group]), groups[group])
        exited = loop.step()
        if exited is not None:
            logits[exited.row_ids], exit_index[exited.row_ids] = exited.logits, exited.exit_index
        steps += 1
    assert exit_index.tolist() == expected.exit_index.tolist()
    assert len(set(exit_index.tolist())) >= 2
    torch.testing.assert_close(logits, expected.logits, atol=1e-5, rtol=1e-5)


def _rows(inputs: dict[str, torch.Tensor], rows: torch.Tensor) -> dict[str, torch.Tensor]:
    """The rows, cut to their own longest sequence, so groups join with different padded lengths."""
    length = int(inputs["attention_mask"][rows].sum(dim=1).max())
    return {name: value[rows, :length] for name, value in inputs.items()}
