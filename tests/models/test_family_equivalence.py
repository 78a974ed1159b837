"""Running every layer through the family must reproduce the backbone's own forward pass.

This is the test that keeps adapters honest across ``transformers`` releases: tiny random
configs of every family, padding present, atol 1e-5.
"""

import pytest
import torch
from peft import LoraConfig, get_peft_model
from peft.tuners.lora import LoraLayer
from transformers import AutoModel

from epee.models.families import FAMILY_CLASSES, build_family, family_class_for
from epee.models.families.base import last_token_index, masked_mean
from tests.tiny_configs import CONFIGS

EAGER_ONLY = {"mpnet"}  # MPNet's attention is hand-written; transformers offers no sdpa for it.
IMPLEMENTATIONS = [
    (model_type, implementation)
    for model_type in sorted(CONFIGS)
    for implementation in ("eager", "sdpa")
    if not (model_type in EAGER_ONLY and implementation == "sdpa")
]


def _build(model_type: str, attn_implementation: str | None = None):
    torch.manual_seed(0)
    config = CONFIGS[model_type]()
    implementation = attn_implementation or ("eager" if model_type in EAGER_ONLY else "sdpa")
    backbone = AutoModel.from_config(config, attn_implementation=implementation).eval()
    # Norms start as identities (weight 1, bias 0), under which a norm applied twice, or one
    # missing a bias, goes unseen: perturb every parameter so they all matter.
    with torch.no_grad():
        for parameter in backbone.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return backbone, build_family(backbone)


def _inputs(config) -> dict[str, torch.Tensor]:
    """Four rows; text rows are right-padded to 9 tokens with lengths 9, 5, 7, 2."""
    generator = torch.Generator().manual_seed(1)
    if config.model_type == "vit":
        shape = (4, config.num_channels, config.image_size, config.image_size)
        return {"pixel_values": torch.randn(shape, generator=generator)}
    input_ids = torch.randint(3, config.vocab_size, (4, 9), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    for row, length in enumerate([9, 5, 7, 2]):
        attention_mask[row, length:] = 0
        input_ids[row, length:] = config.pad_token_id or 0
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def _run_all_layers(family, inputs):
    state = family.embed(inputs)
    for index in range(family.num_layers):
        state = family.run_layer(index, state)
    return state


def _assert_reproduces_forward(backbone, family, inputs):
    with torch.no_grad():
        expected = backbone(**inputs, **family.extra_inputs_for_forward(inputs)).last_hidden_state
        state = _run_all_layers(family, inputs)
        actual = family.output_hidden(state)
    real = state.attention_mask.bool()
    torch.testing.assert_close(actual[real], expected[real], atol=1e-5, rtol=0)


@pytest.mark.parametrize(("model_type", "attn_implementation"), IMPLEMENTATIONS)
def test_layer_loop_reproduces_forward(model_type, attn_implementation):
    backbone, family = _build(model_type, attn_implementation)
    _assert_reproduces_forward(backbone, family, _inputs(backbone.config))


POOLINGS = [
    (model_type, pooling)
    for model_type in sorted(CONFIGS)
    for pooling in family_class_for(CONFIGS[model_type]().model_type).pooling_modes
]


@pytest.mark.parametrize(("model_type", "pooling"), POOLINGS)
def test_last_exit_pools_the_backbone_output(model_type, pooling):
    """The deepest exit reads what a head on ``last_hidden_state`` would read (final norm included)."""
    backbone, _ = _build(model_type)
    family = build_family(backbone, pooling=pooling)
    inputs = _inputs(backbone.config)
    with torch.no_grad():
        output = backbone(**inputs, **family.extra_inputs_for_forward(inputs)).last_hidden_state
        state = _run_all_layers(family, inputs)
        pooled = family.pool(state)
    if pooling == "cls":
        expected = output[:, 0]
    elif pooling == "mean":
        expected = masked_mean(output, state.attention_mask)
    else:
        expected = output[torch.arange(len(output)), last_token_index(state.attention_mask)]
    torch.testing.assert_close(pooled, expected, atol=1e-5, rtol=0)
    # What the plain-model timing reads from ``forward``'s output: the final norm is already applied there.
    torch.testing.assert_close(
        family.pool_forward_output(output, inputs.get("attention_mask")), expected, atol=1e-5, rtol=0
    )


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_pooler_dense_is_the_backbones_own_pooler(model_type):
    """Exit poolers start from ``pooler_dense``: with tanh on [CLS] it must give ``pooler_output``."""
    backbone, family = _build(model_type)
    dense = family.pooler_dense()
    assert (dense is not None) == family.has_pretrained_pooler
    if dense is not None:
        with torch.no_grad():
            output = backbone(**_inputs(backbone.config))
            pooled = torch.tanh(dense(output.last_hidden_state[:, 0]))
        torch.testing.assert_close(pooled, output.pooler_output, atol=1e-5, rtol=0)


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_selecting_rows_equals_running_them_alone(model_type):
    backbone, family = _build(model_type)
    inputs = _inputs(backbone.config)
    rows = torch.tensor([1, 3])
    with torch.no_grad():
        state = family.run_layer(0, family.embed(inputs)).select(rows)
        for index in range(1, family.num_layers):
            state = family.run_layer(index, state)
        alone = _run_all_layers(family, {name: value[rows] for name, value in inputs.items()})
    torch.testing.assert_close(family.pool(state), family.pool(alone), atol=1e-5, rtol=0)


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_lora_targets_sit_on_the_adapter_path(model_type):
    """Every default LoRA target exists, and the adapted modules are the ones the layer loop runs."""
    backbone, family = _build(model_type)
    inputs = _inputs(backbone.config)
    with torch.no_grad():
        before = family.output_hidden(_run_all_layers(family, inputs))
    # Random (not zero) LoRA B matrices, so the adapted model computes something different.
    lora = LoraConfig(r=2, target_modules=list(family.lora_target_modules), init_lora_weights=False)
    get_peft_model(backbone, lora)
    adapted = {name.rsplit(".", 1)[-1] for name, module in backbone.named_modules() if isinstance(module, LoraLayer)}
    assert adapted == set(family.lora_target_modules)
    _assert_reproduces_forward(backbone, family, inputs)
    with torch.no_grad():
        after = family.output_hidden(_run_all_layers(family, inputs))
    assert (after - before).abs().max() > 1e-3


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_sizes_are_read_through_the_config(model_type):
    """DistilBERT (``dim``, ``n_layers``) and GPT-2 (``n_embd``, ``n_layer``) name them differently."""
    _, family = _build(model_type)
    assert (family.num_layers, family.hidden_size) == (3, 32)


def test_every_family_has_a_tested_model_type():
    tested = {CONFIGS[model_type]().model_type for model_type in CONFIGS}
    for family_class in FAMILY_CLASSES:
        assert tested & set(family_class.model_types), family_class.family


def test_unsupported_architecture_names_the_supported_families():
    from transformers import T5Config

    backbone = AutoModel.from_config(T5Config(d_model=16, num_layers=1, num_heads=2, d_ff=8, d_kv=8))
    with pytest.raises(ValueError, match=r"not supported; supported families are: BERT") as error:
        build_family(backbone)
    for family_class in FAMILY_CLASSES:
        assert family_class.display_name in str(error.value)
