"""Running every layer through the adapter must reproduce the backbone's own forward pass.

This is the test that keeps adapters honest across ``transformers`` releases: tiny random
configs, padding present, atol 1e-5.
"""

import pytest
import torch
from transformers import AutoModel, BertConfig, RobertaConfig

from epee.models.adapters import build_adapter

torch.manual_seed(0)

TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=37, vocab_size=99)

ENCODER_CONFIGS = {
    "bert": BertConfig(**TINY),
    "roberta": RobertaConfig(**TINY, pad_token_id=1, max_position_embeddings=64),
}


def _padded_text_batch(vocab_size: int, pad_id: int = 0) -> dict[str, torch.Tensor]:
    input_ids = torch.randint(3, vocab_size, (4, 9))
    attention_mask = torch.ones_like(input_ids)
    for row, length in enumerate([9, 5, 7, 2]):
        attention_mask[row, length:] = 0
        input_ids[row, length:] = pad_id
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def _run_all_layers(adapter, inputs):
    state = adapter.embed(inputs)
    for index in range(adapter.num_layers):
        state = adapter.run_layer(index, state)
    return adapter.output_hidden(state)


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("model_type", sorted(ENCODER_CONFIGS))
def test_encoder_layer_loop_reproduces_forward(model_type, attn_implementation):
    config = ENCODER_CONFIGS[model_type]
    config._attn_implementation = attn_implementation
    backbone = AutoModel.from_config(config).eval()
    adapter = build_adapter(backbone)
    inputs = _padded_text_batch(config.vocab_size, pad_id=config.pad_token_id or 0)
    with torch.no_grad():
        expected = backbone(**inputs).last_hidden_state
        actual = _run_all_layers(adapter, inputs)
    real = inputs["attention_mask"].bool()
    torch.testing.assert_close(actual[real], expected[real], atol=1e-5, rtol=0)


def test_selecting_rows_equals_running_them_alone():
    backbone = AutoModel.from_config(ENCODER_CONFIGS["bert"]).eval()
    adapter = build_adapter(backbone)
    inputs = _padded_text_batch(99)
    rows = torch.tensor([1, 3])
    with torch.no_grad():
        state = adapter.embed(inputs)
        state = adapter.run_layer(0, state).select(rows)
        for index in range(1, adapter.num_layers):
            state = adapter.run_layer(index, state)
        alone = _run_all_layers(adapter, {name: value[rows] for name, value in inputs.items()})
    torch.testing.assert_close(adapter.pool(state), alone[:, 0], atol=1e-5, rtol=0)


def test_unsupported_architecture_names_the_supported_families():
    from transformers import T5Config

    backbone = AutoModel.from_config(T5Config(d_model=16, num_layers=1, num_heads=2, d_ff=8, d_kv=8))
    with pytest.raises(ValueError, match=r"not supported; supported families are: BERT"):
        build_adapter(backbone)
