"""Issue 17, items 2, 3 and 8: predictions never destroy a file, inputs are validated once in the library."""

import json
import os
import signal
import time

import pytest
from typer.testing import CliRunner

from epee.cli.main import app
from epee.errors import EpeeError
from epee.runtime import predict
from epee.runtime.outputs import check_output_file
from epee.runtime.table_io import OUTPUT_FORMATS, bad_rows_path, write_atomically
from tests.helpers import tiny_bert_model

runner = CliRunner()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("predict") / "checkpoint"
    tiny_bert_model(labels=("no", "yes")).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def model():
    return tiny_bert_model(labels=("no", "yes"))


def _input(tmp_path, rows=("aspirin helps", "no effect")):
    path = tmp_path / "input.csv"
    path.write_text("text\n" + "\n".join(rows) + "\n")
    return path


def _said(result) -> str:
    return " ".join(result.output.split())  # rich wraps long lines


def _predict(checkpoint, data, output, *extra):
    return runner.invoke(app, ["predict", str(checkpoint), str(data), "-o", str(output), *extra])


# ---- item 2: an existing output is refused unless --overwrite; the input never is overwritten -------------


def test_existing_output_is_refused_without_overwrite(tmp_path, checkpoint):
    data, output = _input(tmp_path), tmp_path / "out.jsonl"
    output.write_text("earlier results\n")
    result = _predict(checkpoint, data, output)
    assert result.exit_code == 2 and "already exists; pass --overwrite" in _said(result)
    assert output.read_text() == "earlier results\n"
    result = _predict(checkpoint, data, output, "--overwrite")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["row"] for line in output.read_text().splitlines()] == [1, 2]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "with-overwrite"])
def test_output_equal_to_the_input_is_always_refused(tmp_path, checkpoint, overwrite):
    data = tmp_path / "texts.csv"
    data.write_text("text\naspirin helps\n")
    before = data.read_bytes()
    for spelling in (data, tmp_path / "." / "texts.csv"):
        result = _predict(checkpoint, data, spelling, *overwrite)
        assert result.exit_code == 2 and "is the input file" in _said(result)
    assert data.read_bytes() == before


def test_output_linked_to_the_input_is_refused(tmp_path):
    data = _input(tmp_path)
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    with pytest.raises(EpeeError, match="is the input file"):
        check_output_file(link, OUTPUT_FORMATS, inputs=[data], overwrite=True)


# ---- item 3: batch size, empty inputs and empty strings are refused by the library ----------------------


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_api_refuses_a_batch_size_below_one(model, batch_size):
    with pytest.raises(EpeeError, match="batch size must be a positive whole number"):
        predict(model, ["aspirin helps"], batch_size=batch_size)


def test_cli_refuses_a_negative_batch_size_and_writes_nothing(tmp_path, checkpoint):
    output = tmp_path / "out.jsonl"
    result = _predict(checkpoint, _input(tmp_path), output, "--batch-size", "-3")
    assert result.exit_code == 2 and "batch size must be a positive whole number" in _said(result)
    assert not output.exists()


def test_empty_list_and_empty_strings_are_refused_the_same_way(tmp_path, model, checkpoint):
    with pytest.raises(EpeeError, match="nothing to predict"):
        predict(model, [])
    with pytest.raises(EpeeError, match="Text 1 is empty"):
        predict(model, ["fine", ""])
    with pytest.raises(EpeeError, match="not one string"):
        predict(model, "a single string")
    with pytest.raises(EpeeError, match="one entry .* per text"):
        predict(model, ["a", "b"], ["only one"])
    result = _predict(checkpoint, _input(tmp_path, ["fine", '""']), tmp_path / "out.jsonl")
    assert result.exit_code == 2 and "has an empty 'text'" in _said(result)


def test_budget_past_the_last_exit_is_refused(model):
    from epee.policies import make_policy

    with pytest.raises(EpeeError, match="exit_layer 8 is past this model's last exit"):
        predict(model, ["aspirin helps"], policy=make_policy("budget", exit_layer=8))


# ---- item 8: no stale bad-rows file, no hidden partial file after SIGKILL --------------------------------


def test_clean_rerun_removes_the_stale_bad_rows_file(tmp_path, checkpoint):
    output = tmp_path / "out.jsonl"
    with_bad = _input(tmp_path, ["fine", '""'])
    result = _predict(checkpoint, with_bad, output, "--skip-bad-rows")
    assert result.exit_code == 0, result.output
    assert bad_rows_path(output).is_file()
    clean = tmp_path / "clean.csv"
    clean.write_text("text\nfine\nalso fine\n")
    result = _predict(checkpoint, clean, output)
    assert result.exit_code == 2 and "already exists" in _said(result)  # the earlier run's files are kept
    result = _predict(checkpoint, clean, output, "--overwrite")
    assert result.exit_code == 0, result.output
    assert not bad_rows_path(output).exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clean.csv", "input.csv", "out.jsonl"]


def test_stale_bad_rows_file_alone_counts_as_an_existing_output(tmp_path, checkpoint):
    output = tmp_path / "out.jsonl"
    bad_rows_path(output).write_text('{"row": 9}\n')
    result = _predict(checkpoint, _input(tmp_path), output)
    assert result.exit_code == 2 and "bad-rows file" in _said(result)
    assert bad_rows_path(output).read_text() == '{"row": 9}\n'


def _slow_records(ready_fd: int):
    for row in range(10**6):
        if row == 100:
            os.write(ready_fd, b"w")
        if row >= 100:
            time.sleep(0.01)
        yield {"row": row, "label": "yes"}


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "replacing"])
def test_sigkill_during_the_write_leaves_no_partial_file(tmp_path, existing):
    target = tmp_path / "out.jsonl"
    if existing:
        write_atomically(target, [{"row": 1}])
    ready_read, ready_write = os.pipe()
    child = os.fork()  # a forked writer needs no fresh interpreter (imports take seconds on a busy machine)
    if child == 0:
        try:
            write_atomically(target, _slow_records(ready_write))
        finally:
            os._exit(0)
    try:
        assert os.read(ready_read, 1) == b"w"
        time.sleep(0.1)
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        os.close(ready_read)
        os.close(ready_write)
    assert [path.name for path in tmp_path.iterdir()] == (["out.jsonl"] if existing else [])
    if existing:
        assert target.read_text() == '{"row": 1}\n'
