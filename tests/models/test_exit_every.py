"""`--exit-every k`: exits at layers k, 2k, ... and the last layer, with or without `--first-exit-layer`."""

import pytest
import torch
from transformers import AutoModel, LlamaConfig
from typer.testing import CliRunner

from epee.cli.main import app
from epee.models import MultiExitModel
from epee.policies import POLICIES, make_policy
from epee.policies.testing import check_dynamic
from epee.runtime.predict import check_policy_fits
from epee.runtime.testing import ModelRunner
from tests.helpers import save_tiny_backbone, tiny_bert_model
from tests.tiny_configs import DECODER_TOKENS, TINY

runner = CliRunner()


def _decoder(**settings) -> MultiExitModel:
    """A tiny random 7-layer Llama (a decoder with rotary positions and grouped-query attention)."""
    torch.manual_seed(0)
    config = LlamaConfig(**{**TINY, "num_hidden_layers": 7}, **DECODER_TOKENS, num_key_value_heads=2)
    backbone = AutoModel.from_config(config).eval()
    return MultiExitModel.from_backbone(backbone, label_names=["a", "b", "c"], **settings).eval()


@pytest.mark.parametrize(
    ("settings", "layers"),
    [
        ({}, [1, 2, 3, 4, 5, 6, 7]),
        ({"exit_every": 3}, [3, 6, 7]),
        ({"exit_every": 2, "first_exit_layer": 3}, [4, 6, 7]),
        ({"exit_every": 3, "first_exit_layer": 6}, [6, 7]),
        ({"exit_every": 7}, [7]),
        ({"exit_every": 1, "first_exit_layer": 7}, [7]),
    ],
)
def test_exit_layers_of_a_decoder(settings, layers):
    model = _decoder(**settings)
    assert model.exit_layers == layers
    assert len(model.heads.classifiers) == len(layers)
    inputs = {"input_ids": torch.tensor([[5, 6, 7, 8]]), "attention_mask": torch.ones(1, 4, dtype=torch.long)}
    with torch.no_grad():
        assert model(inputs).shape == (len(layers), 1, 3)


def test_exit_layers_of_an_encoder_survive_a_checkpoint(tmp_path):
    model = tiny_bert_model(layers=6, exit_every=4)
    assert model.exit_layers == [4, 6]
    model.save_pretrained(tmp_path / "model")
    loaded = MultiExitModel.from_pretrained(tmp_path / "model")
    assert (loaded.config.exit_every, loaded.exit_layers) == (4, [4, 6])


def test_early_exit_with_gaps_between_exits_equals_simulation():
    model = _decoder(exit_every=3)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for parameter in model.backbone.parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))
        for classifier in model.heads.classifiers:  # confident, varied exits: random heads are near uniform
            classifier.weight.mul_(60.0)
    lengths = torch.randint(2, 13, (16,), generator=generator)
    input_ids = torch.randint(3, 99, (16, 12), generator=generator)
    attention_mask = (torch.arange(12) < lengths[:, None]).long()
    input_ids[attention_mask == 0] = 0
    model_runner = ModelRunner(model, {"input_ids": input_ids, "attention_mask": attention_mask})
    seen = set()
    for policy in POLICIES.values():
        if policy.deployable:
            seen |= check_dynamic(policy, model_runner, batch_sizes=(1, 16))
    assert seen == {0, 1, 2}, "rows must leave at every exit, layers 3, 6 and 7"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (0, "--exit-every must be >= 1 (an exit every that many layers), got 0."),
        (4, "--exit-every 4 is more than the backbone's 3 layers; give 1 to 3."),
    ],
)
def test_train_refuses_an_exit_every_outside_the_layers(tmp_path, value, said):
    data = tmp_path / "notes.csv"
    data.write_text("text,label\n" + "".join(f"note {n},{'yes' if n % 2 else 'no'}\n" for n in range(20)))
    backbone = save_tiny_backbone(tmp_path / "backbone")
    command = ["train", "--data", str(data), "--backbone", backbone, "--exit-every", str(value)]
    result = runner.invoke(app, [*command, "-o", str(tmp_path / "model")])
    assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output
    assert not (tmp_path / "model").exists()


def test_train_stores_exit_every_in_the_checkpoint(tmp_path):
    data = tmp_path / "notes.csv"
    data.write_text("text,label\n" + "".join(f"note {n},{'yes' if n % 2 else 'no'}\n" for n in range(20)))
    backbone = save_tiny_backbone(tmp_path / "backbone")
    command = ["train", "--data", str(data), "--backbone", backbone, "--peft", "none", "--max-steps", "1"]
    result = runner.invoke(app, [*command, "--exit-every", "2", "-o", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    model = MultiExitModel.from_pretrained(tmp_path / "model")
    assert (model.config.exit_every, model.exit_layers) == (2, [2, 3])
    rows = [line.split("│")[1].strip() for line in result.output.splitlines() if line.startswith("│")]
    assert rows == ["2", "3"]  # the dev table has a row per exit layer


def test_a_fixed_exit_past_the_last_names_the_exit_layers():
    with pytest.raises(ValueError, match=r"past this model's last exit \(exits 1-3, at layers \[3, 6, 7\]\)"):
        check_policy_fits(_decoder(exit_every=3), make_policy("budget", exit_layer=4))
