"""Issue 20, item 5: training says why it stopped and which epoch it kept; epoch logs name the metric, in points."""

import logging
import re

import pytest
from typer.testing import CliRunner

from epee.cli.main import app
from epee.models import MultiExitModel
from tests.helpers import save_tiny_backbone

runner = CliRunner()
ROWS = [(f"note {n} about pain", "yes") for n in range(12)] + [(f"note {n} about rash", "no") for n in range(12)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train-messages")
    data = folder / "notes.csv"
    data.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in ROWS))
    return folder, ["train", "--data", str(data), "--backbone", save_tiny_backbone(folder / "bb"), "--peft", "none"]


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--epochs", "2"], "all 2 epochs ran; kept epoch "),
        (["--epochs", "3", "--max-steps", "2"], "stopped at --max-steps 2 in epoch 1 of 3; kept epoch 1 (best on dev)"),
        (
            ["--epochs", "3", "--time-budget-minutes", "0.00001"],
            "stopped by --time-budget-minutes 1e-05 in epoch 1 of 3; kept epoch 1 (best on dev)",
        ),
    ],
    ids=["epochs", "max-steps", "time-budget"],
)
def test_the_final_line_says_why_training_stopped(setup, tmp_path, options, said):
    _, arguments = setup
    result = runner.invoke(app, [*arguments, *options, "--batch-size", "8", "-o", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    assert said in " ".join(result.output.split())
    history = MultiExitModel.from_pretrained(tmp_path / "model").config.training["history"]
    kept = re.search(r"kept epoch (\d+)", result.output)
    assert history["best_epoch"] == int(kept.group(1)) and history["best_stage"] == 1  # 1-based, as printed


def test_epoch_logs_name_the_metric_in_points(setup, tmp_path, caplog):
    _, arguments = setup
    with caplog.at_level(logging.INFO, logger="epee.train.trainer"):
        result = runner.invoke(app, [*arguments, "--epochs", "1", "-o", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    (line,) = [record.getMessage() for record in caplog.records if "epoch 1/1" in record.getMessage()]
    assert re.fullmatch(
        r"stage 1 epoch 1/1: train loss \d+\.\d{4}, dev f1_positive per exit \(points\)( \d+\.\d){3}", line
    )
