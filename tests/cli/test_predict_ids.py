"""Issue 20, item 2: `predict --id-column` / `--keep-column` carry the input's identifiers to the output unchanged."""

import csv
import json

import pytest
from typer.testing import CliRunner

from epee.cli.main import app
from tests.helpers import tiny_bert_model

runner = CliRunner()
IDS = ["patient 7, visit 2", 'the "first" note', "  007", "ünïcode-id", "line\nbreak", ""]
SITES = ["a", "b,c", '"q"', "d", "e", "f"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ids") / "checkpoint"
    tiny_bert_model(labels=("no", "yes")).save_pretrained(path)
    return path


def _csv_input(path):
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["record", "site", "text"])
        writer.writerows(
            [identifier, site, f"note {n}"] for n, (identifier, site) in enumerate(zip(IDS, SITES, strict=True))
        )
    return path


def _jsonl_input(path):
    records = [
        {"record": identifier, "site": site, "text": f"note {n}"}
        for n, (identifier, site) in enumerate(zip(IDS, SITES, strict=True))
    ]
    records[0]["record"] = 12345  # a number stays a number in JSON lines
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def _read(path):
    if path.suffix == ".csv":
        with path.open(newline="") as stream:
            return list(csv.DictReader(stream))
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("input_kind", ["csv", "jsonl"])
@pytest.mark.parametrize("output_suffix", [".csv", ".jsonl"])
def test_id_and_kept_columns_round_trip(tmp_path, checkpoint, input_kind, output_suffix):
    data = _csv_input(tmp_path / "in.csv") if input_kind == "csv" else _jsonl_input(tmp_path / "in.jsonl")
    output = tmp_path / f"out{output_suffix}"
    arguments = ["predict", str(checkpoint), str(data), "-o", str(output), "--id-column", "record"]
    result = runner.invoke(app, [*arguments, "--keep-column", "site"])
    assert result.exit_code == 0, result.output
    records = _read(output)
    assert list(records[0]) == ["record", "site", "label", "probabilities", "exit_layer"]
    expected = list(IDS)
    if input_kind == "jsonl":
        expected[0] = 12345 if output_suffix == ".jsonl" else "12345"
    assert [record["record"] for record in records] == expected
    assert [record["site"] for record in records] == SITES


def test_without_an_id_column_the_row_number_stays(tmp_path, checkpoint):
    output = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["predict", str(checkpoint), str(_csv_input(tmp_path / "in.csv")), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert [record["row"] for record in _read(output)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--id-column", "patient"], "has no column 'patient'; its columns are ['record', 'site', 'text']"),
        (["--id-column", "record", "--keep-column", "record"], "is named twice"),
        (["--keep-column", "label"], "is a field of the predictions"),
    ],
    ids=["missing", "twice", "clashes"],
)
def test_carried_column_mistakes(tmp_path, checkpoint, options, message):
    output = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["predict", str(checkpoint), str(_csv_input(tmp_path / "in.csv")), "-o", str(output), *options]
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and message in said, said
    assert "--skip-bad-rows" not in said  # every row lacks the column: setting rows aside cannot help
    assert not output.exists()
