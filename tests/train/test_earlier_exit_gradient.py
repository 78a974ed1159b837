"""``earlier_exit_gradient``: the exits before the last pull the backbone less, their logits and heads unchanged."""

import pytest
import torch

from epee.errors import EpeeError
from epee.train import TrainingSettings
from tests.helpers import tiny_bert_model


def _inputs(model):
    return dict(
        model.tokenizer(["aspirin helps the pain", "no effect at all, worse sleep"], padding=True, return_tensors="pt")
    )


def _gradients(model, inputs, *, exit_index, factor):
    """Gradients of exit ``exit_index``'s logit sum, split into the backbone's and that exit head's."""
    model.zero_grad(set_to_none=True)
    model(inputs, earlier_exit_gradient=factor)[exit_index].sum().backward()
    backbone = {name: p.grad.clone() for name, p in model.backbone.named_parameters() if p.grad is not None}
    head = {name: p.grad.clone() for name, p in model.heads.named_parameters() if p.grad is not None}
    return backbone, head


def test_the_logits_are_the_same_bit_for_bit():
    torch.manual_seed(0)
    model = tiny_bert_model(layers=3).eval()
    inputs = _inputs(model)
    assert torch.equal(model(inputs, earlier_exit_gradient=0.25), model(inputs))


def test_an_earlier_exit_sends_the_scaled_gradient_into_the_backbone_and_its_head_keeps_its_own():
    torch.manual_seed(0)
    model = tiny_bert_model(layers=3).eval()
    inputs = _inputs(model)
    full_backbone, full_head = _gradients(model, inputs, exit_index=0, factor=1.0)
    scaled_backbone, scaled_head = _gradients(model, inputs, exit_index=0, factor=0.25)
    assert full_backbone and full_backbone.keys() == scaled_backbone.keys()
    for name, gradient in full_backbone.items():
        torch.testing.assert_close(scaled_backbone[name], 0.25 * gradient, rtol=1e-5, atol=1e-8)
    for name, gradient in full_head.items():
        torch.testing.assert_close(scaled_head[name], gradient, rtol=0, atol=0)


def test_the_last_exit_is_never_scaled():
    torch.manual_seed(0)
    model = tiny_bert_model(layers=3).eval()
    inputs = _inputs(model)
    full_backbone, _ = _gradients(model, inputs, exit_index=-1, factor=1.0)
    scaled_backbone, _ = _gradients(model, inputs, exit_index=-1, factor=0.0)
    for name, gradient in full_backbone.items():
        assert torch.equal(scaled_backbone[name], gradient), name


def test_zero_cuts_the_earlier_exits_off_the_backbone():
    torch.manual_seed(0)
    model = tiny_bert_model(layers=3).eval()
    backbone, head = _gradients(model, _inputs(model), exit_index=1, factor=0.0)
    assert all(torch.count_nonzero(gradient) == 0 for gradient in backbone.values())
    assert any(torch.count_nonzero(gradient) > 0 for gradient in head.values())


@pytest.mark.parametrize("factor", [-0.1, 1.5])
def test_a_factor_outside_zero_to_one_is_refused(factor):
    with pytest.raises(EpeeError, match="earlier_exit_gradient must be in"):
        TrainingSettings(earlier_exit_gradient=factor)
