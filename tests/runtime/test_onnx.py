"""The ONNX Runtime engine against the PyTorch engine: same loop, same exits, same logits.

Every exportable family's tiny config (weights perturbed so every parameter matters, padding
present, rows leaving between segments) and the real MiniLM with a LoRA adapter merged at export.
int8 and calibrating on an export are tested through the commands, in tests/cli/test_export.py.
"""

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoModel

from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.policies import make_policy
from epee.runtime import early_exit_forward, predict
from tests.tiny_configs import CONFIGS

pytest.importorskip("onnxruntime", reason='the ONNX engine needs the onnx extra: pip install -e ".[onnx]"')
pytest.importorskip("onnxscript", reason='ONNX export needs the onnx extra: pip install -e ".[onnx]"')

from epee.runtime.onnx_engine import OnnxModel  # noqa: E402
from epee.runtime.onnx_export import MANIFEST_NAME, export_onnx  # noqa: E402

FAMILIES = ["albert", "bert", "distilbert", "mpnet", "roberta"]
LENGTHS = [9, 5, 7, 2, 9, 3, 6, 8]


def _tiny_model(model_type: str, pooling: str | None = None) -> MultiExitModel:
    torch.manual_seed(0)
    backbone = AutoModel.from_config(CONFIGS[model_type]()).eval()
    with torch.no_grad():
        for parameter in backbone.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    # Exits after layers 2 and 3: segment 0 runs two layers, segment 1 one.
    model = MultiExitModel.from_backbone(backbone, label_names=["a", "b", "c"], first_exit_layer=2, pooling=pooling)
    with torch.no_grad():
        for parameter in model.heads.parameters():
            parameter.mul_(20)  # confident, varied heads, so a threshold splits the rows between exits
    return model.eval()


def _inputs(model: OnnxModel) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(3, 99, (len(LENGTHS), max(LENGTHS)), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    for row, length in enumerate(LENGTHS):
        attention_mask[row, length:] = 0
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if "token_type_ids" in model.input_names:
        inputs["token_type_ids"] = torch.zeros_like(input_ids)
    return inputs


def _splitting_policy(model: MultiExitModel, inputs):
    """maxprob with the threshold at the median first-exit confidence: about half the rows leave at exit 0."""
    with torch.inference_mode():
        confidence = model(inputs)[0].softmax(-1).amax(-1)
    return make_policy("maxprob", threshold=float(confidence.median()) + 1e-6)


def _assert_engines_agree(model, onnx_model, inputs, policy):
    expected = early_exit_forward(model, inputs, policy)
    actual = early_exit_forward(onnx_model, inputs, policy)
    assert actual.exit_index.tolist() == expected.exit_index.tolist()
    assert actual.logits.argmax(-1).tolist() == expected.logits.argmax(-1).tolist()
    torch.testing.assert_close(actual.logits, expected.logits, atol=1e-4, rtol=0)
    return expected


@pytest.fixture(scope="module")
def bert_export(tmp_path_factory):
    """Tiny BERT with mean pooling (so segments read the 2-D mask) and a stored policy, exported once."""
    model = _tiny_model("bert", pooling="mean")
    model.config.policy = {"name": "maxprob", "params": {"threshold": 0.9}}
    return model, export_onnx(model, tmp_path_factory.mktemp("bert") / "onnx")


@pytest.mark.parametrize("model_type", FAMILIES)
def test_onnx_engine_equals_torch_on_every_exportable_family(model_type, tmp_path, bert_export):
    if model_type == "bert":
        model, directory = bert_export
    else:
        model = _tiny_model(model_type)
        directory = export_onnx(model, tmp_path / "onnx")
    onnx_model = OnnxModel.load(directory, threads=1)
    inputs = _inputs(onnx_model)
    full = _assert_engines_agree(model, onnx_model, inputs, make_policy("budget", exit_layer=2))
    assert full.exit_index.tolist() == [1] * len(LENGTHS)
    split = _assert_engines_agree(model, onnx_model, inputs, _splitting_policy(model, inputs))
    assert set(split.exit_index.tolist()) == {0, 1}, "rows must leave between segments"
    # A batch of one row and a shorter sequence run through the same dynamic axes.
    one_row = {name: value[3:4, :4] for name, value in inputs.items()}
    _assert_engines_agree(model, onnx_model, one_row, make_policy("budget", exit_layer=2))


def test_manifest_describes_the_directory(bert_export):
    model, directory = bert_export
    manifest = json.loads((directory / MANIFEST_NAME).read_text())
    assert manifest["exit_layers"] == [2, 3]
    assert [segment["layers"] for segment in manifest["segments"]] == [[1, 2], [3, 3]]
    assert manifest["label_names"] == ["a", "b", "c"]
    assert manifest["policy"] == {"name": "maxprob", "params": {"threshold": 0.9}}
    assert manifest["quantization"] is None
    assert OnnxModel.load(directory).config.policy == model.config.policy


def test_a_changed_graph_is_refused(tmp_path, bert_export):
    directory = Path(shutil.copytree(bert_export[1], tmp_path / "onnx"))
    with open(directory / "segment_01.onnx", "ab") as stream:
        stream.write(b"\0")
    with pytest.raises(EpeeError, match="segment_01.onnx is missing or does not match its hash"):
        OnnxModel.load(directory)


def test_decoders_and_images_are_refused(tmp_path):
    backbone = AutoModel.from_config(CONFIGS["gpt2"]())
    model = MultiExitModel.from_backbone(backbone, label_names=["a", "b"])
    with pytest.raises(EpeeError, match="ONNX export supports the text encoders .* not 'gpt2'"):
        export_onnx(model, tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


def test_real_minilm_with_lora_merged_at_export_predicts_as_torch(tmp_path):
    # Exits after layers 5 and 6 only: two segments (rows leave between them), the same real weights.
    model = MultiExitModel.from_backbone("minilm", label_names=["negative", "neutral", "positive"], first_exit_layer=5)
    model.add_peft("lora")
    torch.manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.05)  # a trained-looking adapter, so merging it matters
            if name.startswith("heads.classifiers"):
                parameter.normal_(0, 0.5)
    model.eval()
    texts = [
        "Since the new dose my migraines have stopped.",
        "It did nothing for my back pain, and I gained weight.",
        "Okay.",
        "Took it for two weeks; some nausea at first, then it settled and my sleep improved a lot.",
        "Worst medication I have ever taken.",
        "No change.",
    ]
    onnx_model = OnnxModel.load(export_onnx(model, tmp_path / "onnx"), threads=1)
    assert model.config.peft is not None, "export merges a copy, never the user's model"
    encoded = model.tokenizer(texts, padding=True, return_tensors="pt")
    policy = _splitting_policy(model, dict(encoded))
    expected = predict(model, texts, policy=policy, batch_size=4)
    actual = predict(onnx_model, texts, policy=policy, batch_size=4)
    assert actual.exit_layer.tolist() == expected.exit_layer.tolist()
    assert len(set(expected.exit_layer.tolist())) > 1
    assert actual.labels == expected.labels
    torch.testing.assert_close(actual.logits, expected.logits, atol=1e-4, rtol=0)
