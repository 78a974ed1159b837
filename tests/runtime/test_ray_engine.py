"""Issue 16, item 3: ``--engine ray`` (2 actors on a local Ray) writes what one process writes, in the same order."""

import json

import pytest
from typer.testing import CliRunner

from epee.cli.main import app
from tests.helpers import varied_texts, varied_tiny_model

pytest.importorskip("ray.data", reason="the ray extra (CI installs it: make test)")
pyarrow = pytest.importorskip("pyarrow")
parquet = pytest.importorskip("pyarrow.parquet")

runner = CliRunner()


def test_two_ray_workers_give_the_single_process_predictions(tmp_path):
    varied_tiny_model().save_pretrained(tmp_path / "checkpoint")
    texts = varied_texts(2000)
    ids = [f"note-{index:05d}" for index in range(2000)]
    parquet.write_table(pyarrow.table({"id": ids, "text": texts}), tmp_path / "in.parquet", row_group_size=300)
    common = [str(tmp_path / "checkpoint"), str(tmp_path / "in.parquet"), "--chunk-rows", "250"]
    common += ["--policy", "maxprob", "--param", "threshold=0.6", "--keep-column", "id"]
    single = runner.invoke(app, ["predict", *common, "-o", str(tmp_path / "single.jsonl")])
    assert single.exit_code == 0, single.output
    on_ray = runner.invoke(
        app, ["predict", *common, "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray", "--num-workers", "2"]
    )
    assert on_ray.exit_code == 0, on_ray.output
    expected, got = (
        [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        for name in ("single.jsonl", "ray.jsonl")
    )
    assert [row["row"] for row in got] == list(range(1, 2001)) and [row["id"] for row in got] == ids
    assert [row["label"] for row in got] == [row["label"] for row in expected]
    assert [row["exit_layer"] for row in got] == [row["exit_layer"] for row in expected]
    assert len({row["exit_layer"] for row in expected}) == 3  # every exit is exercised, not a constant
    for mine, theirs in zip(got, expected, strict=True):
        assert mine["probabilities"].keys() == theirs["probabilities"].keys()
        for label, probability in mine["probabilities"].items():
            assert abs(probability - theirs["probabilities"][label]) <= 1e-6 + 1e-12  # both rounded to 6 digits


def test_ray_options_without_the_ray_engine_are_refused(tmp_path):
    result = runner.invoke(
        app, ["predict", str(tmp_path), str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.jsonl"), "--num-workers", "4"]
    )
    assert result.exit_code == 2 and "options of --engine ray" in " ".join(result.output.split())
