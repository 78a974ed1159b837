"""Issue 16, item 1: ``epee predict`` streams its input in chunks, keeps input order, reads Parquet and resumes."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from typer.testing import CliRunner

from epee.cli.main import app
from epee.errors import EpeeError
from epee.policies import make_policy
from epee.runtime import predict
from epee.runtime.predict_file import predict_file
from epee.runtime.resume import journal_path
from epee.runtime.table_io import bad_rows_path, input_chunks, partial_path
from tests.conftest import REPO_ROOT
from tests.helpers import varied_texts, varied_tiny_model

pyarrow = pytest.importorskip("pyarrow", reason="the parquet extra (CI installs it: make test)")
parquet = pytest.importorskip("pyarrow.parquet")

POLICY = make_policy("maxprob", threshold=0.6)  # this model then exits at all three layers (see varied_tiny_model)
runner = CliRunner()


@pytest.fixture(scope="module")
def model():
    return varied_tiny_model()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, model):
    path = tmp_path_factory.mktemp("streaming") / "checkpoint"
    model.save_pretrained(path)
    return path


def _csv(path, texts):
    path.write_text("text\n" + "\n".join(texts) + "\n")
    return path


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_chunks_keep_input_order_and_match_one_batch_of_everything(tmp_path, model):
    texts = varied_texts(97)
    data = _csv(tmp_path / "in.csv", texts)
    summary = predict_file(model, data, tmp_path / "out.jsonl", policy=POLICY, batch_size=8, chunk_rows=10)
    rows = _records(tmp_path / "out.jsonl")
    whole = predict(model, texts, policy=POLICY, batch_size=8)
    assert [row["row"] for row in rows] == list(range(1, 98))
    assert [row["label"] for row in rows] == whole.labels
    assert [row["exit_layer"] for row in rows] == whole.exit_layer.tolist()
    assert len(set(whole.exit_layer.tolist())) == 3  # the comparison covers every exit, not a constant
    for row, expected in zip(rows, whole.probabilities.tolist(), strict=True):
        # the file rounds to 6 decimals (up to 5e-7 off) and float32 sums differ in the last bits between chunkings
        assert list(row["probabilities"].values()) == pytest.approx(expected, abs=2e-6)
    assert summary.rows == 97 and summary.mean_exit_layer == pytest.approx(whole.mean_exit_layer)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv", "out.jsonl"]  # no partial file left


def test_input_is_read_lazily_chunk_by_chunk(tmp_path):
    """A quote error near the end of the file is met only after the earlier chunks were handed out."""
    data = tmp_path / "in.csv"
    data.write_text("text\n" + "\n".join(f"row {index}" for index in range(25)) + '\n"never closed\n')
    chunks = input_chunks(
        data, text_column="text", text_pair_column=None, format=None, skip_bad_rows=False, chunk_rows=10
    )
    assert [chunk.row_numbers for chunk in (next(chunks), next(chunks))] == [list(range(1, 11)), list(range(11, 21))]
    with pytest.raises(EpeeError, match="is never closed"):
        list(chunks)


def test_csv_output_has_one_header_across_chunks(tmp_path, model):
    data = _csv(tmp_path / "in.csv", varied_texts(23))
    predict_file(model, data, tmp_path / "out.csv", policy=POLICY, chunk_rows=5)
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "row,label,probabilities,exit_layer" and len(lines) == 24
    assert [line.split(",")[0] for line in lines[1:]] == [str(number) for number in range(1, 24)]


def test_parquet_input_gives_the_csv_input_s_file(tmp_path, model):
    texts = varied_texts(30)
    pairs = [None if index % 3 else "twice daily" for index in range(30)]
    table = pyarrow.table({"id": list(range(30)), "text": texts, "pair": pairs})
    parquet.write_table(table, tmp_path / "in.parquet", row_group_size=7)
    with open(tmp_path / "in.csv", "w", newline="") as stream:
        lines = (f"{index},{text},{pair or ''}\n" for index, (text, pair) in enumerate(zip(texts, pairs, strict=True)))
        stream.write("id,text,pair\n" + "".join(lines))
    options = dict(policy=POLICY, chunk_rows=8, text_pair_column="pair")
    predict_file(model, tmp_path / "in.parquet", tmp_path / "from-parquet.jsonl", **options)
    predict_file(model, tmp_path / "in.csv", tmp_path / "from-csv.jsonl", **options)
    assert (tmp_path / "from-parquet.jsonl").read_bytes() == (tmp_path / "from-csv.jsonl").read_bytes()


def test_bad_rows_across_chunks_are_set_aside_in_order(tmp_path, model):
    texts = varied_texts(12)
    texts[2] = texts[9] = '""'
    data = _csv(tmp_path / "in.csv", texts)
    summary = predict_file(model, data, tmp_path / "out.jsonl", policy=POLICY, chunk_rows=4, skip_bad_rows=True)
    assert summary.rows == 10 and summary.bad_rows == 2
    assert [row["row"] for row in _records(bad_rows_path(tmp_path / "out.jsonl"))] == [3, 10]
    assert 3 not in [row["row"] for row in _records(tmp_path / "out.jsonl")]


# ---- resume ---------------------------------------------------------------------------------------------

KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import epee.runtime.predict_file as module
    from epee.cli.main import app

    calls, real = [0], module.predict

    def predict_then_die(*args, **kwargs):
        calls[0] += 1
        if calls[0] == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)  # mid-run: earlier chunks are written, this one is not
        return real(*args, **kwargs)

    module.predict = predict_then_die
    app(sys.argv[2:])
    """
)


@pytest.fixture
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _cli(checkpoint, data, output, *extra):
    policy = ["--policy", "maxprob", "--param", "threshold=0.6"]
    return ["predict", str(checkpoint), str(data), "-o", str(output), "--chunk-rows", "50", *policy, *extra]


def test_resume_after_sigkill_gives_the_uninterrupted_file(tmp_path, checkpoint, one_torch_thread):
    texts = varied_texts(400)
    texts[120] = '""'  # a bad row in a finished chunk, so the bad-rows file is resumed too
    data = _csv(tmp_path / "in.csv", texts)
    whole, resumed = tmp_path / "whole.csv", tmp_path / "resumed.csv"
    result = runner.invoke(app, _cli(checkpoint, data, whole, "--skip-bad-rows"))
    assert result.exit_code == 0, result.output

    # Both processes on one torch thread: a matmul's last bits depend on how many threads split its sums.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    env["OMP_NUM_THREADS"] = "1"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, "5", *_cli(checkpoint, data, resumed, "--skip-bad-rows")],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert not resumed.exists() and partial_path(resumed).exists()
    assert json.loads(journal_path(resumed).read_text())["progress"]["chunks"] == 4
    with open(partial_path(resumed), "ab") as stream:
        stream.write(b'7,"half a row written when the kill came')  # a torn write past the journal's length

    refused = runner.invoke(app, _cli(checkpoint, data, resumed, "--skip-bad-rows"))
    assert refused.exit_code == 2 and "pass --resume to continue it" in " ".join(refused.output.split())
    changed = runner.invoke(app, _cli(checkpoint, data, resumed, "--skip-bad-rows", "--resume", "--batch-size", "4"))
    assert changed.exit_code == 2 and "--batch-size differ" in " ".join(changed.output.split())

    result = runner.invoke(app, _cli(checkpoint, data, resumed, "--skip-bad-rows", "--resume"))
    assert result.exit_code == 0, result.output
    assert "399 rows (200 in this run" in " ".join(result.output.split())  # chunks 1-4 were not predicted again
    assert resumed.read_bytes() == whole.read_bytes()
    assert bad_rows_path(resumed).read_bytes() == bad_rows_path(whole).read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["in.csv", "whole.csv", "whole.csv.bad.jsonl", "resumed.csv", "resumed.csv.bad.jsonl"]
    )


def test_overwrite_discards_an_unfinished_run_and_a_user_error_leaves_nothing(tmp_path, checkpoint):
    data = _csv(tmp_path / "in.csv", varied_texts(5))
    output = tmp_path / "out.jsonl"
    journal_path(output).write_text("{}")
    partial_path(output).write_text("old partial rows\n")
    result = runner.invoke(app, _cli(checkpoint, data, output, "--overwrite"))
    assert result.exit_code == 0, result.output
    assert len(_records(output)) == 5 and not partial_path(output).exists() and not journal_path(output).exists()

    broken = tmp_path / "broken.csv"
    broken.write_text("text\n" + "\n".join(varied_texts(120)) + '\n""\n')
    result = runner.invoke(app, _cli(checkpoint, broken, tmp_path / "broken.jsonl"))
    assert result.exit_code == 2 and "Row 121 (line 122)" in " ".join(result.output.split())
    assert not any(path.name.startswith("broken.jsonl") for path in tmp_path.iterdir())
