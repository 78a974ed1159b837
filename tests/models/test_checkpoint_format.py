"""The checkpoint format: a policy sidecar, migration of version-1 checkpoints, saves that never lose the old one."""

import json

import pytest
import torch

from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models import multi_exit as multi_exit_module
from epee.models.multi_exit import copy_checkpoint
from epee.policies import make_policy, policy_params
from tests.helpers import save_tiny_backbone, tiny_bert_model


def _files(directory):
    files = (path for path in directory.rglob("*") if path.is_file())
    return {path.relative_to(directory).as_posix(): path.read_bytes() for path in files}


@pytest.fixture
def checkpoint(tmp_path):
    model = tiny_bert_model()
    model.config.policy = policy_params(make_policy("budget", exit_layer=2))
    return model, model.save_pretrained(tmp_path / "ck")


def test_the_policy_lives_in_a_sidecar(checkpoint):
    model, directory = checkpoint
    config = json.loads((directory / "epee_config.json").read_text())
    assert config["format_version"] == 2 and "policy" not in config and "calibration" not in config
    assert json.loads((directory / "policy.json").read_text())["policy"] == model.config.policy
    assert MultiExitModel.from_pretrained(directory).config == model.config


def test_storing_a_policy_rewrites_only_the_sidecar(checkpoint):
    model, directory = checkpoint
    before = _files(directory)
    model.config.policy = policy_params(make_policy("maxprob", threshold=0.8))
    model.save_policy(directory)
    after = _files(directory)
    assert {name for name in after if after[name] != before.get(name)} == {"policy.json"}
    assert len(after["policy.json"]) < 4096
    assert MultiExitModel.from_pretrained(directory).config.policy["name"] == "maxprob"


def _as_version_1(directory):
    """Rewrite a checkpoint the way epee wrote it before the sidecar: policy inside the config, no version."""
    config = json.loads((directory / "epee_config.json").read_text())
    sidecar = json.loads((directory / "policy.json").read_text())
    for name in ("format_version", "data_recipe", "backbone_revision"):
        config.pop(name)
    (directory / "epee_config.json").write_text(json.dumps({**config, **sidecar}))
    (directory / "policy.json").unlink()


def test_a_version_1_checkpoint_loads_and_is_migrated_when_its_policy_changes(checkpoint):
    model, directory = checkpoint
    _as_version_1(directory)
    loaded = MultiExitModel.from_pretrained(directory)
    assert loaded.config.policy == model.config.policy and loaded.config.data_recipe is None
    loaded.config.policy = policy_params(make_policy("maxprob", threshold=0.9))
    loaded.save_policy(directory)
    config = json.loads((directory / "epee_config.json").read_text())
    assert config["format_version"] == 2 and "policy" not in config
    assert MultiExitModel.from_pretrained(directory).config.policy == loaded.config.policy


def test_a_checkpoint_from_a_newer_epee_says_to_upgrade(checkpoint):
    _, directory = checkpoint
    config = json.loads((directory / "epee_config.json").read_text())
    (directory / "epee_config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(EpeeError, match="newer epee .* upgrade epee"):
        MultiExitModel.from_pretrained(directory)


def test_a_save_that_fails_half_way_leaves_the_old_checkpoint_intact(checkpoint, monkeypatch):
    model, directory = checkpoint
    before = _files(directory)

    def fail_after_the_config(*args, **kwargs):  # the config is already written when the heads are saved
        raise RuntimeError("killed half-way")

    monkeypatch.setattr(multi_exit_module, "save_model", fail_after_the_config)
    with torch.no_grad():
        next(model.heads.parameters()).add_(1.0)
    with pytest.raises(RuntimeError, match="killed half-way"):
        model.save_pretrained(directory)
    assert _files(directory) == before
    assert sorted(path.name for path in directory.parent.iterdir()) == ["ck"]  # no staging left behind


def test_saving_over_a_folder_that_is_not_a_checkpoint_is_refused(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(EpeeError, match="not a checkpoint epee wrote"):
        tiny_bert_model().save_pretrained(folder)
    assert (folder / "notes.txt").read_text() == "keep me"
    with pytest.raises(EpeeError, match="not a checkpoint epee wrote"):
        copy_checkpoint(_saved(tmp_path), folder)
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt"]


def _saved(tmp_path):
    return tiny_bert_model().save_pretrained(tmp_path / "source")


def test_an_adapter_refuses_a_backbone_whose_weights_changed(tmp_path):
    backbone = save_tiny_backbone(tmp_path / "backbone")
    model = MultiExitModel.from_backbone(backbone, label_names=["a", "b"])
    assert model.config.backbone_revision.startswith("sha256:")
    model.add_peft("lora")
    directory = model.save_pretrained(tmp_path / "ck")
    MultiExitModel.from_pretrained(directory, allow_external_backbone=True)  # the same weights load
    retrained = tiny_bert_model()
    retrained.backbone.save_pretrained(tmp_path / "backbone")  # new random weights at the same path
    with pytest.raises(EpeeError, match="not the one this adapter was trained on"):
        MultiExitModel.from_pretrained(directory, allow_external_backbone=True)
