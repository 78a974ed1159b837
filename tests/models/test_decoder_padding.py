"""Decoders pool the last real token: padding, on either side, must not change any exit's features."""

import pytest
import torch
from transformers import AutoModel

from epee.models.families import build_family
from epee.models.families.base import last_token_index, position_ids_from_mask
from tests.tiny_configs import CONFIGS

DECODER_CONFIGS = {name: CONFIGS[name] for name in ("gpt2", "llama", "mistral", "qwen2")}
LENGTHS = [9, 5, 7, 2]


def _build(model_type: str, attn_implementation: str):
    torch.manual_seed(0)
    backbone = AutoModel.from_config(DECODER_CONFIGS[model_type](), attn_implementation=attn_implementation)
    return build_family(backbone.eval())


def _sentences() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randint(3, 99, (length,), generator=generator) for length in LENGTHS]


def _padded(sentences: list[torch.Tensor], side: str) -> dict[str, torch.Tensor]:
    width = max(len(sentence) for sentence in sentences)
    input_ids = torch.zeros(len(sentences), width, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, sentence in enumerate(sentences):
        columns = slice(width - len(sentence), width) if side == "left" else slice(0, len(sentence))
        input_ids[row, columns] = sentence
        attention_mask[row, columns] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def _pooled_per_layer(family, inputs) -> list[torch.Tensor]:
    """Features ``[batch, hidden]`` for the exit after every layer."""
    pooled = []
    with torch.no_grad():
        state = family.embed(inputs)
        for index in range(family.num_layers):
            state = family.run_layer(index, state)
            pooled.append(family.pool(state))
    return pooled


def test_positions_and_last_token_count_real_tokens_only():
    left = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    right = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert position_ids_from_mask(left).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]
    assert position_ids_from_mask(right).tolist() == [[0, 1, 2, 2, 2], [0, 1, 2, 3, 4]]
    assert last_token_index(left).tolist() == [4, 4]
    assert last_token_index(right).tolist() == [2, 4]


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("model_type", sorted(DECODER_CONFIGS))
def test_left_padded_layer_loop_reproduces_forward(model_type, attn_implementation):
    family = _build(model_type, attn_implementation)
    inputs = _padded(_sentences(), "left")
    with torch.no_grad():
        expected = family.backbone(**inputs, **family.extra_inputs_for_forward(inputs)).last_hidden_state
        state = family.embed(inputs)
        for index in range(family.num_layers):
            state = family.run_layer(index, state)
        actual = family.output_hidden(state)
    real = inputs["attention_mask"].bool()
    torch.testing.assert_close(actual[real], expected[real], atol=1e-5, rtol=0)


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("model_type", sorted(DECODER_CONFIGS))
def test_left_and_right_padding_give_the_same_features_at_every_exit(model_type, attn_implementation):
    family = _build(model_type, attn_implementation)
    sentences = _sentences()
    left = _pooled_per_layer(family, _padded(sentences, "left"))
    right = _pooled_per_layer(family, _padded(sentences, "right"))
    for layer, (left_features, right_features) in enumerate(zip(left, right, strict=True)):
        torch.testing.assert_close(left_features, right_features, atol=1e-5, rtol=0, msg=f"layer {layer}")


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("model_type", sorted(DECODER_CONFIGS))
def test_padded_features_equal_each_sentence_run_alone(model_type, side):
    family = _build(model_type, "sdpa")
    sentences = _sentences()
    batched = _pooled_per_layer(family, _padded(sentences, side))[-1]
    alone = torch.cat([_pooled_per_layer(family, _padded([sentence], side))[-1] for sentence in sentences])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)
