"""Issue 17: a damaged or hand-edited checkpoint fails with one sentence naming the file, tensor and shapes;
weights are read from safetensors only, and a base backbone from elsewhere needs an explicit flag."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from epee.errors import EpeeError
from epee.models import MultiExitModel
from tests.helpers import tiny_bert_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("checkpoints") / "base"
    tiny_bert_model(labels=("no", "yes")).save_pretrained(path)
    return path


def _edit_config(directory, change):
    path = directory / "epee_config.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))


def _edit_backbone_config(directory, **values):
    path = directory / "backbone" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **values}))


def _truncate(path, keep):
    path.write_bytes(path.read_bytes()[:keep] if keep >= 0 else path.read_bytes()[:keep])


def _pickle_only(directory):
    weights = directory / "backbone" / "model.safetensors"
    torch.save(load_file(weights), directory / "backbone" / "pytorch_model.bin")
    weights.unlink()


DAMAGE = {
    "zero-byte heads": (
        lambda d: (d / "exit_heads.safetensors").write_bytes(b""),
        r"exit-head weights file .* damaged",
    ),
    "truncated heads": (lambda d: _truncate(d / "exit_heads.safetensors", -50), r"exit-head weights file .* damaged"),
    "zero-byte backbone": (
        lambda d: (d / "backbone" / "model.safetensors").write_bytes(b""),
        r"backbone weights file .* damaged",
    ),
    "truncated backbone": (
        lambda d: _truncate(d / "backbone" / "model.safetensors", 4000),
        r"backbone weights file .* damaged",
    ),
    "config without label_names": (
        lambda d: _edit_config(d, lambda c: c.pop("label_names")),
        r"lacks the required settings \['label_names'\]",
    ),
    "config not JSON": (lambda d: (d / "epee_config.json").write_text("{"), "is not valid JSON"),
    "config a list": (lambda d: (d / "epee_config.json").write_text("[]"), "holds a JSON list"),
    "label_names a string": (
        lambda d: _edit_config(d, lambda c: c.update(label_names="ny")),
        "label_names must be a list of non-empty label strings",
    ),
    "label_names swapped with task": (
        lambda d: _edit_config(d, lambda c: c.update(label_names=c["task"], task=c["label_names"])),
        "label_names must be a list",
    ),
    "head size mismatch": (
        lambda d: _edit_config(d, lambda c: c.update(label_names=["a", "b", "c"])),
        r"tensor 'classifiers\.\d\.(weight|bias)' .* has shape \(2,( 32)?\), but .* expects \(3,( 32)?\)",
    ),
    "backbone size mismatch": (
        lambda d: _edit_backbone_config(d, hidden_size=64),
        r"backbone tensor 'embeddings.LayerNorm.bias' .* has shape \(32,\), but its config.json builds \(64,\)",
    ),
    "max_length 0": (lambda d: _edit_config(d, lambda c: c.update(max_length=0)), "max_length must be at least 1"),
    "max_length beyond positions": (
        lambda d: _edit_config(d, lambda c: c.update(max_length=4096)),
        "more tokens than this backbone can read",
    ),
    "pickle-only backbone": (_pickle_only, r"no model.safetensors \(only pytorch_model.bin, a pickle"),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_checkpoint_fails_with_one_sentence(tmp_path, saved, damage):
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    change, message = DAMAGE[damage]
    change(broken)
    with pytest.raises(EpeeError, match=message):
        MultiExitModel.from_pretrained(broken)


def test_a_file_given_as_checkpoint_is_named_as_such(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\0")
    with pytest.raises(EpeeError, match="is a file; a checkpoint is the directory"):
        MultiExitModel.from_pretrained(tmp_path / "model.bin")


def _peft_checkpoint(tmp_path, backbone_reference):
    base = tiny_bert_model()
    base.backbone.save_pretrained(tmp_path / "base")
    base.tokenizer.save_pretrained(tmp_path / "base")
    model = MultiExitModel.from_backbone(str(tmp_path / "base"), label_names=["a", "b"])
    model.add_peft()
    model.config.backbone = backbone_reference
    model.save_pretrained(tmp_path / "ck")
    return tmp_path / "ck"


def test_backbone_outside_the_checkpoint_needs_an_explicit_flag(tmp_path):
    checkpoint = _peft_checkpoint(tmp_path, str(tmp_path / "base"))
    with pytest.raises(EpeeError, match="a directory outside the checkpoint.*--allow-external-backbone"):
        MultiExitModel.from_pretrained(checkpoint)
    assert MultiExitModel.from_pretrained(checkpoint, allow_external_backbone=True).config.peft["method"] == "lora"


def test_hub_backbone_needs_an_explicit_flag(tmp_path):
    checkpoint = _peft_checkpoint(tmp_path, "someone/some-model")
    with pytest.raises(EpeeError, match="'someone/some-model', a model-hub name"):
        MultiExitModel.from_pretrained(checkpoint)


def test_damaged_adapter_fails_with_one_sentence(tmp_path):
    checkpoint = _peft_checkpoint(tmp_path, str(tmp_path / "base"))
    (checkpoint / "adapter" / "adapter_model.safetensors").write_bytes(b"xx")
    with pytest.raises(EpeeError, match="adapter weights file .* damaged"):
        MultiExitModel.from_pretrained(checkpoint, allow_external_backbone=True)
