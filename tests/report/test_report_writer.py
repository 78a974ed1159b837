"""write_report: every file is there, readable, consistent with the numbers, and written all-or-nothing."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from epee.calibrate import CalibrationResult
from epee.report import write_report
from epee.report.tables import SUMMARY_HEADERS
from tests.report.sample_report import CALIBRATION, EVALUATIONS, SELECTIONS, report_inputs

FIGURES = ("metric_vs_speedup.png", "per_exit_metric.png", "exit_layers.png")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(tmp_path_factory.mktemp("written") / "report", **report_inputs())


def test_writes_every_file_and_valid_pngs(report_dir: Path) -> None:
    assert sorted(path.name for path in report_dir.iterdir()) == sorted(
        ["report.md", "report.html", "report.json", *FIGURES]
    )
    for name in FIGURES:
        pixels = imread(report_dir / name)
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert np.ptp(pixels) > 0, f"{name} is a blank image"


def test_html_is_self_contained_and_names_everything(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    for name in FIGURES:
        assert f'src="{name}"' in page
    for header in SUMMARY_HEADERS:
        assert f">{header}</th>" in page
    for policy in ("entropy", "patience", "epee", "last exit", "oracle (bound)"):
        assert f"<td>{policy}</td>" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "&lt;this&gt; paragraph &amp; its markup" in page
    assert "L / mean exit layer" in page and "wall-clock" in page and "FLOPs" in page


def test_markdown_links_figures_and_lists_facts(report_dir: Path) -> None:
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    for name in FIGURES:
        assert f"]({name})" in text
    assert "- **model**: tiny BERT (random)" in text
    assert "| " + " | ".join(SUMMARY_HEADERS) + " |" in text


def _summary_rows(report_dir: Path) -> list[list[str]]:
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    summary = text.split("## Summary", 1)[1].split("\n\n")[1]
    rows = [re.split(r"(?<!\\)\|", line)[1:-1] for line in summary.splitlines()[2:]]
    return [[cell.strip() for cell in row] for row in rows]


def test_summary_numbers_are_formatted_and_finite(report_dir: Path) -> None:
    rows = _summary_rows(report_dir)
    assert [row[0] for row in rows] == ["entropy", "patience", "epee", "last exit", "oracle (bound)"]
    for row in rows:
        assert len(row) == len(SUMMARY_HEADERS)
        for cell in row[2:]:
            if cell != "n/a":
                assert re.fullmatch(r"\d+\.\d\dx?", cell), cell
                assert math.isfinite(float(cell.rstrip("x")))
    entropy, patience, *_ = rows
    assert entropy[2:] == ["82.00", "79.00", "1.60x", "1.55x", "1.42x"]
    assert patience[6] == "n/a"
    last_exit = rows[3]
    assert last_exit[2:5] == ["80.00", "81.00", "1.00x"]
    assert last_exit[5] == "0.97x"  # the budget point at the last exit charges the exit heads


def test_json_keeps_the_raw_numbers(report_dir: Path) -> None:
    stored = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert CalibrationResult.from_dict(stored["calibration"]) == CALIBRATION
    assert stored["evaluations"] == [evaluation.to_dict() for evaluation in EVALUATIONS]
    assert stored["selections"] == {name: point.to_dict() for name, point in SELECTIONS.items()}
    assert stored["facts"] == report_inputs()["facts"]
    assert stored["per_exit_test_metric"] == list(report_inputs()["per_exit_test_metric"])


def test_replaces_a_previous_report_and_leaves_no_staging(tmp_path: Path) -> None:
    target = tmp_path / "report"
    write_report(target, **report_inputs(title="First"))
    write_report(target, **report_inputs(title="Second", per_exit_test_metric=None))
    assert "<h1>Second</h1>" in (target / "report.html").read_text(encoding="utf-8")
    assert [path.name for path in tmp_path.iterdir()] == ["report"]


def test_refuses_to_overwrite_a_directory_that_is_not_a_report(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    with pytest.raises(ValueError, match="not a report epee wrote"):
        write_report(tmp_path, **report_inputs())
    assert precious.read_text() == "keep me"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"num_layers": 12}, "num_layers is 12"),
        ({"exit_layer_numbers": (1, 2, 3, 4)}, "exit_layer_numbers"),
        ({"per_exit_test_metric": (0.5, 0.6)}, "2 values for 4 exits"),
        ({"per_exit_test_metric": (0.5, float("nan"), 0.7, 0.8)}, "must be finite"),
        ({"evaluations": []}, "at least one evaluated policy"),
    ],
)
def test_rejects_inconsistent_inputs_before_writing(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_report(tmp_path / "report", **report_inputs(**overrides))
    assert not any(tmp_path.iterdir())
