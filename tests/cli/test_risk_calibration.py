"""`epee calibrate --rule risk`: a certificate stored and printed; on a file of texts, labels are never read."""

import json
import random

import pytest
from typer.testing import CliRunner

from epee.cli.main import app
from tests.helpers import tiny_bert_model

runner = CliRunner()
WORDS = "aspirin helps no effect works well did nothing rash nausea sleep better pain gone worse dose".split()


def _notes(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9))) for _ in range(count)]


def _write(path, header, rows):
    path.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n")
    return path


@pytest.fixture()
def checkpoint(tmp_path):
    path = tmp_path / "checkpoint"
    tiny_bert_model(labels=("no", "yes")).save_pretrained(path)
    return path


def _stored(checkpoint):
    return json.loads((checkpoint / "policy.json").read_text())


RISK = ["--rule", "risk", "--risk", "consistency", "--epsilon", "10", "--delta", "0.1"]


def test_label_free_calibration_reads_only_the_text_column(tmp_path, checkpoint):
    notes = _notes(200)
    unlabelled = _write(tmp_path / "notes.csv", ("note",), [(note,) for note in notes])
    result = runner.invoke(
        app, ["calibrate", str(checkpoint), *RISK, "--calibration-data", str(unlabelled), "--text-column", "note"]
    )
    assert result.exit_code == 0, result.output
    stored = _stored(checkpoint)
    certificate = stored["calibration"]["certificate"]
    assert (certificate["risk"], certificate["num_ordering"], certificate["num_samples"]) == ("consistency", 50, 150)
    assert stored["calibration"]["rule"] == "risk" and stored["policy"]["name"] == certificate["policy"]
    words = " ".join(result.output.split())
    assert "Risk control: consistency <= 10% at delta 0.1" in words
    assert ("at least 90% over the calibration sample, at most 10% of answers differ from the full model" in words) or (
        "runs to full depth" in words
    )
    # the same texts beside a label column of garbage (not a label of this model, or empty): the same certificate,
    # so no label was read; an absent label column (above) did not fail either
    garbage = _write(
        tmp_path / "labelled.csv", ("note", "label"), [(note, "???" if i % 2 else "") for i, note in enumerate(notes)]
    )
    again = tmp_path / "again"
    result = runner.invoke(
        app,
        [
            "calibrate",
            str(checkpoint),
            *RISK,
            "--calibration-data",
            str(garbage),
            "--text-column",
            "note",
            "--output",
            str(again),
        ],
    )
    assert result.exit_code == 0, result.output
    assert _stored(again)["calibration"]["certificate"] == certificate
    assert _stored(again)["calibration"]["tested"] == stored["calibration"]["tested"]


def test_label_free_calibration_refuses_a_risk_that_needs_labels(tmp_path, checkpoint):
    unlabelled = _write(tmp_path / "notes.csv", ("text",), [(note,) for note in _notes(200)])
    before = (checkpoint / "policy.json").read_text() if (checkpoint / "policy.json").exists() else None
    result = runner.invoke(
        app,
        ["calibrate", str(checkpoint), "--rule", "risk", "--risk", "error_gap", "--calibration-data", str(unlabelled)],
    )
    assert result.exit_code == 2 and "holds no labels" in " ".join(result.output.split())
    after = (checkpoint / "policy.json").read_text() if (checkpoint / "policy.json").exists() else None
    assert after == before


def test_risk_rule_on_labelled_dev_stores_and_prints_the_certificate(tmp_path, checkpoint):
    notes = _notes(240, seed=1)
    rows = [(note, "yes" if "helps" in note or "better" in note else "no") for note in notes]
    train = _write(tmp_path / "train.csv", ("text", "label"), rows[:80])
    dev = _write(tmp_path / "dev.csv", ("text", "label"), rows[80:])
    result = runner.invoke(
        app,
        [
            "calibrate",
            str(checkpoint),
            "--data",
            str(train),
            "--dev",
            str(dev),
            *RISK[:2],
            "--risk",
            "error_gap",
            "--epsilon",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    calibration = _stored(checkpoint)["calibration"]
    assert calibration["rule"] == "risk" and calibration["certificate"]["risk"] == "error_gap"
    assert (
        calibration["certificate"]["num_samples"] == 120
        and calibration["selected"]["policy"] == (calibration["certificate"]["policy"])
    )
    words = " ".join(result.output.split())
    assert "Risk control: error_gap <= 10% at delta 0.1" in words
    assert "of answers are wrong where the full model is right" in words
