"""The checkpoint remembers its data: later commands rebuild the same splits and refuse dev rows it trained on."""

import pytest
from typer.testing import CliRunner

from epee.cli.main import app
from epee.data import dataset_from_files
from epee.models import MultiExitModel
from epee.workflow.checkpoint_data import load_checkpoint_and_data
from tests.helpers import save_tiny_backbone

runner = CliRunner()
ROWS = [(f"note number {number} about {word}", label) for number in range(30) for word, label in [("pain", "yes")]]
ROWS += [(f"note number {number} about {word}", label) for number in range(30) for word, label in [("rash", "no")]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recipe")
    data = folder / "notes.csv"
    data.write_text("note,outcome\n" + "".join(f"{text},{label}\n" for text, label in ROWS))
    backbone = save_tiny_backbone(folder / "backbone")
    checkpoint = folder / "model"
    arguments = ["train", "--data", str(data), "--text-column", "note", "--label-column", "outcome", "--seed", "7"]
    result = runner.invoke(
        app, [*arguments, "--backbone", backbone, "--peft", "none", "--epochs", "1", "-o", str(checkpoint)]
    )
    assert result.exit_code == 0, result.output
    return data, checkpoint


def test_the_checkpoint_records_the_data_recipe(trained):
    data, checkpoint = trained
    recipe = MultiExitModel.from_pretrained(checkpoint).config.data_recipe
    assert (recipe["data"], recipe["text_column"], recipe["label_column"], recipe["seed"]) == (
        str(data.resolve()),
        "note",
        "outcome",
        7,
    )


def test_a_command_with_no_data_options_uses_the_recorded_dev_split(trained):
    data, checkpoint = trained
    result = runner.invoke(app, ["evaluate", str(checkpoint)])
    assert result.exit_code == 0, result.output
    _, dataset = load_checkpoint_and_data(checkpoint, {})
    seed_7 = dataset_from_files(data, text_column="note", label_column="outcome", seed=7)
    seed_42 = dataset_from_files(data, text_column="note", label_column="outcome", seed=42)
    assert [example.text for example in dataset.dev] == [example.text for example in seed_7.dev]
    assert [example.text for example in seed_7.dev] != [example.text for example in seed_42.dev]


def test_a_dev_split_holding_training_rows_is_refused(trained):
    _, checkpoint = trained
    result = runner.invoke(app, ["calibrate", str(checkpoint), "--seed", "42"])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "dev rows were training rows of this checkpoint" in message and "seed 7" in message
    assert "note number" not in message  # never the rows' text


def test_a_separate_dev_file_overrides_one_field_of_the_recipe(trained, tmp_path):
    _, checkpoint = trained
    dev = tmp_path / "dev.csv"
    dev.write_text("note,outcome\nunseen pain,yes\nunseen rash,no\n")
    _, dataset = load_checkpoint_and_data(checkpoint, {"dev": dev})
    assert [example.text for example in dataset.dev] == ["unseen pain", "unseen rash"]
    assert len(dataset.train) == len(ROWS)  # the recorded training file and columns, no dev carved from it


def test_calibrate_refuses_an_output_folder_that_is_not_a_checkpoint(trained, tmp_path):
    _, checkpoint = trained
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["calibrate", str(checkpoint), "--output", str(folder)])
    assert result.exit_code == 2 and "not a checkpoint epee wrote" in " ".join(result.output.split())
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]


def test_calibrate_after_train_needs_no_data_options(trained, tmp_path):
    _, checkpoint = trained
    result = runner.invoke(
        app, ["calibrate", str(checkpoint), "--allow-degenerate", "-o", str(tmp_path / "calibrated")]
    )
    assert result.exit_code == 0, result.output
    assert MultiExitModel.from_pretrained(tmp_path / "calibrated").config.calibration is not None


def test_a_split_column_trains_on_its_train_rows_only(tmp_path):
    rows = [(text, label, "train") for text, label in ROWS[::2]] + [(text, label, "test") for text, label in ROWS[1::2]]
    data = tmp_path / "notes.csv"
    data.write_text("text,label,split\n" + "".join(f"{text},{label},{split}\n" for text, label, split in rows))
    backbone = save_tiny_backbone(tmp_path / "backbone")
    arguments = ["train", "--data", str(data), "--backbone", backbone, "--peft", "none", "--epochs", "1"]
    ignored = runner.invoke(app, [*arguments, "-o", str(tmp_path / "ignored")])
    assert ignored.exit_code == 2 and "pass --split-column split" in " ".join(ignored.output.split())
    assert not (tmp_path / "ignored").exists()
    checkpoint = tmp_path / "model"
    result = runner.invoke(app, [*arguments, "--split-column", "split", "-o", str(checkpoint)])
    assert result.exit_code == 0, result.output
    _, dataset = load_checkpoint_and_data(checkpoint, {})  # the recorded recipe keeps the split column
    train_texts = {text for text, _, split in rows if split == "train"}
    assert {example.text for example in dataset.train + dataset.dev} == train_texts
    assert [example.text for example in dataset.test] == [text for text, _, split in rows if split == "test"]
    assert runner.invoke(app, ["evaluate", str(checkpoint), "--split", "test"]).exit_code == 0
