"""`epee calibrate` and `epee report` refuse a model that did not learn, unless --allow-degenerate."""

import pytest
import torch
from typer.testing import CliRunner

from epee.cli.main import app
from epee.models import MultiExitModel
from tests.helpers import tiny_bert_model

runner = CliRunner()
ROWS = [("aspirin helps", "yes"), ("no effect", "no"), ("works well", "yes"), ("did nothing", "no")] * 3


def _table(path, rows):
    path.write_text("\n".join(",".join(row) for row in [("text", "label"), *rows]) + "\n")
    return path


@pytest.fixture()
def collapsed(tmp_path):
    """A checkpoint whose every exit says "no" whatever the text: a model that did not learn, by construction."""
    model = tiny_bert_model(labels=("no", "yes"))
    with torch.no_grad():
        for classifier in model.heads.classifiers:
            classifier.weight.zero_()
            classifier.bias.copy_(torch.tensor([5.0, 0.0]))
    model.save_pretrained(tmp_path / "collapsed")
    return tmp_path / "collapsed"


def _data_options(tmp_path):
    return ["--data", str(_table(tmp_path / "train.csv", ROWS)), "--dev", str(_table(tmp_path / "dev.csv", ROWS))]


def test_calibrate_says_the_model_did_not_learn_and_stores_nothing(tmp_path, collapsed):
    output = tmp_path / "calibrated"
    result = runner.invoke(app, ["calibrate", str(collapsed), *_data_options(tmp_path), "-o", str(output)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "The model did not learn" in text and "one prediction for 100.0% of examples" in text
    assert "--allow-degenerate" in text
    assert not output.exists()


def test_allow_degenerate_restores_the_old_selection(tmp_path, collapsed):
    output = tmp_path / "calibrated"
    command = ["calibrate", str(collapsed), *_data_options(tmp_path), "-o", str(output), "--allow-degenerate"]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    calibration = MultiExitModel.from_pretrained(output).config.calibration
    assert calibration["allow_degenerate"] is True
    assert calibration["selected"]["degenerate"].startswith("one prediction for 100.0%")
    assert calibration["selected"]["layer_speedup"] == 3.0  # every sample leaves at the first exit, as before
    assert "degenerate" in result.output
