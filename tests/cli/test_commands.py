"""The command line: bad input gets one clear sentence and exit code 2, and nothing is half-written."""

import json

import pytest
from typer.testing import CliRunner

from epee.cli.main import app
from tests.helpers import tiny_bert_model

runner = CliRunner()


def _table(path, rows, header=("text", "label")):
    path.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n")
    return path


GOOD = [("aspirin helps", "yes"), ("no effect", "no"), ("works well", "yes"), ("did nothing", "no")] * 3


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        (None, [], "does not exist"),
        ([("a", "yes")], ["--label-column", "outcome"], "Column 'outcome' is missing"),
        ([*GOOD, ("  ", "yes")], [], "has an empty 'text'"),
        ([("a", "yes"), ("b", "yes"), ("c", "yes")], [], "fewer than 2 classes"),
    ],
    ids=["missing-file", "missing-column", "empty-text", "one-class"],
)
def test_train_rejects_bad_input_without_writing(tmp_path, rows, extra, message):
    data = tmp_path / "train.csv"
    if rows is not None:
        _table(data, rows)
    output = tmp_path / "model"
    result = runner.invoke(app, ["train", "--data", str(data), "--output", str(output), *extra])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not output.exists()


def test_train_names_the_existing_columns_and_unseen_dev_labels(tmp_path):
    data = _table(tmp_path / "train.csv", GOOD)
    result = runner.invoke(app, ["train", "--data", str(data), "--label-column", "outcome", "-o", str(tmp_path / "m")])
    assert "the columns there are ['text', 'label']" in " ".join(result.output.split())
    dev = _table(tmp_path / "dev.csv", [("odd", "maybe")])
    result = runner.invoke(app, ["train", "--data", str(data), "--dev", str(dev), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "Label 'maybe' appears in the dev split" in " ".join(result.output.split())


def test_train_rejects_a_model_path_that_does_not_exist(tmp_path):
    data = _table(tmp_path / "train.csv", GOOD)
    result = runner.invoke(
        app, ["train", "--data", str(data), "--backbone", "./no/such/model", "-o", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not (tmp_path / "m").exists()


@pytest.fixture()
def checkpoint(tmp_path):
    path = tmp_path / "checkpoint"
    tiny_bert_model(labels=("no", "yes")).save_pretrained(path)
    return path


def test_predict_writes_one_row_per_input(tmp_path, checkpoint):
    data = _table(tmp_path / "input.csv", [("aspirin helps", "yes"), ("no effect at all here", "no")])
    output = tmp_path / "predictions.jsonl"
    result = runner.invoke(app, ["predict", str(checkpoint), str(data), "--output", str(output)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [record["row"] for record in records] == [1, 2]
    for record in records:
        assert record["label"] in ("no", "yes") and record["exit_layer"] == 3
        assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert "layer speed-up 1.00x" in " ".join(result.output.split())


def test_predict_names_a_bad_row_or_sets_it_aside(tmp_path, checkpoint):
    data = _table(tmp_path / "input.csv", [("fine text", "yes"), ("", "no"), ("more text", "no")])
    output = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["predict", str(checkpoint), str(data), "--output", str(output)])
    assert result.exit_code == 2 and "Row 2 (line 3)" in result.output and "--skip-bad-rows" in result.output
    assert not output.exists()
    result = runner.invoke(
        app,
        [
            "predict",
            str(checkpoint),
            str(data),
            "--output",
            str(output),
            "--skip-bad-rows",
            "--policy",
            "budget",
            "--param",
            "exit_layer=1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert output.read_text().splitlines()[0].startswith("row,label,probabilities,exit_layer")
    assert len(output.read_text().splitlines()) == 3
    bad = [json.loads(line) for line in (tmp_path / "predictions.csv.bad.jsonl").read_text().splitlines()]
    assert bad[0]["row"] == 2 and "empty" in bad[0]["problem"]
    assert "layer speed-up 3.00x" in " ".join(result.output.split())


def test_help_of_every_command_is_complete():
    result = runner.invoke(app, ["--help"])
    for command in ("train", "calibrate", "predict", "demo", "report"):
        assert command in result.output
        assert runner.invoke(app, [command, "--help"]).exit_code == 0


def test_evaluate_prints_every_exit_beside_the_majority_baseline(tmp_path, checkpoint):
    data = _table(tmp_path / "train.csv", GOOD)
    dev = _table(tmp_path / "dev.csv", GOOD[:4])
    result = runner.invoke(app, ["evaluate", str(checkpoint), "--data", str(data), "--dev", str(dev)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["1", "2", "3", "majority"]
    # train holds as many "yes" as "no", so the headline is F1 of the later class, "yes"; dev holds 2 of each:
    # always predicting "no" (the lowest id of a tie) scores f1_positive 0, balanced accuracy and accuracy 50.0,
    # macro-F1 33.3
    assert "f1_positive ('yes')" in result.output
    assert [cell.strip() for cell in rows[-1].split("│")[1:6]] == ["majority", "0.0", "50.0", "33.3", "50.0"]
