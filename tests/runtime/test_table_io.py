"""Prediction files are written atomically: a failure mid-write leaves the old file or none."""

import pytest

from epee.runtime.table_io import write_atomically


def _records_then_failure():
    yield {"row": 1, "label": "a"}
    raise KeyboardInterrupt


def test_interrupted_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, _records_then_failure())
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "out.csv"
    write_atomically(target, [{"row": 1, "probabilities": {"a": 0.5}}])
    before = target.read_text()
    assert before.splitlines() == ["row,probabilities", '1,"{""a"": 0.5}"']
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, _records_then_failure())
    assert target.read_text() == before and [path.name for path in tmp_path.iterdir()] == ["out.csv"]


def test_unknown_output_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"must end in one of \('.jsonl', '.csv'\)"):
        write_atomically(tmp_path / "out.txt", [])
