"""SmolLM2-135M (``--backbone smollm2-135m``): the real 30-layer Llama-type decoder, assembled from its GGUF.

The Llama adapter is otherwise proven only on tiny random configs; here its layer loop must reproduce the
real model's own ``forward`` (atol 1e-4 over 30 layers of float32), and the assembled weights must be the
trained ones (the model continues a sentence as a language model does, which random or mis-mapped
weights do not).
"""

import importlib.util

import pytest
import torch

from epee.models.gguf_bundles import GGUF_BUNDLES

BUNDLE = GGUF_BUNDLES["smollm2-135m"]
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(BUNDLE.package) is None or importlib.util.find_spec("gguf") is None,
    reason=f"SmolLM2-135M is not installed (needs {BUNDLE.distribution} and gguf: {BUNDLE.install_command}).",
)

TEXTS = [
    "Concomitant use of @DRUG$ and @DRUG$ increases the risk of bleeding.",
    "Aspirin",
    "The patient reported severe nausea after the second dose of metformin.",
    "No interaction was observed.",
]


@pytest.fixture(scope="module")
def smollm2():
    from epee.models.backbones import load_backbone, load_tokenizer

    return load_backbone("smollm2-135m").eval(), load_tokenizer("smollm2-135m")


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_llama_layer_loop_reproduces_smollm2_forward(smollm2, padding_side):
    from epee.models.families import build_family

    backbone, tokenizer = smollm2
    tokenizer.padding_side = padding_side
    inputs = dict(tokenizer(TEXTS, padding=True, return_tensors="pt"))
    family = build_family(backbone)
    assert (family.display_name, family.num_layers, family.hidden_size) == ("Llama", 30, 576)
    with torch.no_grad():
        expected = backbone(**inputs, **family.extra_inputs_for_forward(inputs)).last_hidden_state
        state = family.embed(inputs)
        for index in range(family.num_layers):
            state = family.run_layer(index, state)
        actual = family.output_hidden(state)
    real = inputs["attention_mask"].bool()
    assert real.sum() < real.numel()  # padding is present, so masks and position ids matter
    torch.testing.assert_close(actual[real], expected[real], atol=1e-4, rtol=0)


def test_assembled_weights_are_the_trained_language_model(smollm2):
    from transformers import AutoModelForCausalLM

    from epee.models.backbones import resolve_backbone

    _, tokenizer = smollm2
    language_model = AutoModelForCausalLM.from_pretrained(resolve_backbone("smollm2-135m")).eval()
    inputs = tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        next_token = language_model(**inputs).logits[0, -1].argmax()
    assert tokenizer.decode(next_token).strip() == "Paris"
