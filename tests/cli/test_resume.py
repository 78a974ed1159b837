"""`epee train --resume`: a run interrupted after its first saved state continues to the same checkpoint."""

import pytest
import torch
from typer.testing import CliRunner

from epee.cli.main import app
from epee.models import MultiExitModel
from epee.train import trainer
from epee.train.state import has_training_state
from tests.helpers import save_tiny_backbone

runner = CliRunner()
WORDS = [("pain", "yes"), ("rash", "no")]
ROWS = [(f"note {number} about {word}", label) for number in range(24) for word, label in WORDS]


class _MachineWentAway(Exception):
    pass


@pytest.fixture()
def arguments(tmp_path):
    data = tmp_path / "notes.csv"
    data.write_text("note,outcome\n" + "".join(f"{text},{label}\n" for text, label in ROWS))
    backbone = save_tiny_backbone(tmp_path / "backbone")
    return [
        "train", "--data", str(data), "--text-column", "note", "--label-column", "outcome", "--backbone", backbone,
        "--peft", "none", "--epochs", "2", "--batch-size", "8", "--eval-every-steps", "2", "--precision", "fp32",
    ]  # fmt: skip


def test_resume_continues_an_interrupted_run_to_the_same_checkpoint(tmp_path, arguments, monkeypatch):
    straight = tmp_path / "straight"
    assert runner.invoke(app, [*arguments, "-o", str(straight)]).exit_code == 0
    assert not (tmp_path / "straight.train-state").exists()  # removed once the checkpoint is written

    step = trainer._Loop._step

    def interrupted_step(self, *args, **kwargs):
        if has_training_state(self.state_dir):
            raise _MachineWentAway
        return step(self, *args, **kwargs)

    output = tmp_path / "model"
    with monkeypatch.context() as patch:
        patch.setattr(trainer._Loop, "_step", interrupted_step)
        result = runner.invoke(app, [*arguments, "-o", str(output)])
    assert isinstance(result.exception, _MachineWentAway)
    state = tmp_path / "model.train-state"
    assert has_training_state(state) and not output.exists()

    refused = runner.invoke(app, [*arguments, "-o", str(output)])
    assert refused.exit_code == 2 and "--resume" in " ".join(refused.output.split())

    resumed = runner.invoke(app, ["train", "--resume", str(state), "-o", str(output)])
    assert resumed.exit_code == 0, resumed.output
    assert not state.exists()
    expected, actual = MultiExitModel.from_pretrained(straight), MultiExitModel.from_pretrained(output)
    for name, tensor in expected.state_dict().items():
        assert torch.equal(actual.state_dict()[name], tensor), name
    assert actual.config.training["history"]["steps"] == expected.config.training["history"]["steps"]
