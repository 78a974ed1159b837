"""Issue 20, item 3: `evaluate --policy calibrated` scores the checkpoint's policy on test without timing, and
its figures are those of `predict` on the same rows, scored by scikit-learn."""

import json
import re

import numpy as np
import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from epee.cli.main import app
from epee.policies import make_policy, policy_params
from epee.runtime import predict
from tests.helpers import tiny_bert_model

runner = CliRunner()
WORDS = ["aspirin", "rash", "fever", "dose", "nausea", "relief", "worse", "better", "pain", "sleep", "cough"]
TEST = [
    (f"{a} then {b} after {c}", "yes" if (i % 3) else "no")
    for i, (a, b, c) in enumerate(zip(WORDS, WORDS[3:] + WORDS[:3], WORDS[5:] + WORDS[:5], strict=True))
]
TRAIN = [("aspirin helps", "yes"), ("no effect", "no")] * 5


def _write(path, rows):
    path.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in rows))
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A tiny model whose stored policy (maxprob at the median first-exit confidence) exits rows at several layers."""
    folder = tmp_path_factory.mktemp("evaluate")
    model = tiny_bert_model(labels=("no", "yes"), layers=3)
    first_exit = predict(model, [text for text, _ in TEST], policy=make_policy("budget", exit_layer=1))
    confidence = np.sort(first_exit.probabilities.max(dim=-1).values.numpy())
    threshold = float(confidence[len(confidence) // 2 - 1] + confidence[len(confidence) // 2]) / 2
    model.config.policy = policy_params(make_policy("maxprob", threshold=threshold))
    model.save_pretrained(folder / "checkpoint")
    return folder / "checkpoint", _write(folder / "train.csv", TRAIN), _write(folder / "test.csv", TEST)


def test_evaluate_policy_matches_predict_and_scikit_learn(calibrated, tmp_path):
    checkpoint, train, test = calibrated
    data = ["--data", str(train), "--test", str(test)]
    result = runner.invoke(app, ["evaluate", str(checkpoint), *data, "--policy", "calibrated"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    # train holds as many "yes" as "no": the default headline is F1 of the later class of the tie, "yes"
    line = re.search(r"maxprob \(threshold=[\d.]+\) on test: f1_positive \('yes'\) ([\d.]+) vs last exit", said)
    speedup = re.search(r"mean exit layer ([\d.]+) of 3, layer speed-up ([\d.]+)x, FLOPs speed-up ([\d.]+)x", said)
    assert line and speedup, said
    output = tmp_path / "predictions.jsonl"
    assert runner.invoke(app, ["predict", str(checkpoint), str(test), "-o", str(output)]).exit_code == 0
    records = [json.loads(row) for row in output.read_text().splitlines()]
    layers = [record["exit_layer"] for record in records]
    assert 1 < np.mean(layers) < 3  # the policy really exits rows early, and not all at once
    expected = 100 * f1_score([label for _, label in TEST], [record["label"] for record in records], pos_label="yes")
    assert float(line.group(1)) == pytest.approx(expected, abs=0.005)
    assert float(speedup.group(1)) == pytest.approx(np.mean(layers), abs=0.005)
    assert float(speedup.group(2)) == pytest.approx(3 / np.mean(layers), abs=0.005)
    assert 1 < float(speedup.group(3)) < float(speedup.group(2))  # exit heads cost FLOPs that layers do not save
    assert "wall" not in said.lower()  # no timing


def test_a_named_policy_and_its_parameters(calibrated):
    checkpoint, train, test = calibrated
    data = ["--data", str(train), "--test", str(test)]
    result = runner.invoke(app, ["evaluate", str(checkpoint), *data, "--policy", "budget", "--param", "exit_layer=1"])
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "mean exit layer 1.00 of 3, layer speed-up 3.00x" in said, said


def test_evaluate_calibrated_without_a_calibration_says_what_to_run(tmp_path):
    tiny_bert_model(labels=("no", "yes")).save_pretrained(tmp_path / "plain")
    data = ["--data", str(_write(tmp_path / "train.csv", TRAIN)), "--test", str(_write(tmp_path / "test.csv", TEST))]
    result = runner.invoke(app, ["evaluate", str(tmp_path / "plain"), *data, "--policy", "calibrated"])
    assert result.exit_code == 2 and "run `epee calibrate CHECKPOINT` first" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("options", "timed_rows"), [(["--no-timing"], None), (["--timing-rows", "3"], 3)], ids=["no-timing", "3-rows"]
)
def test_report_timing_can_be_capped_or_skipped(calibrated, tmp_path, options, timed_rows):
    checkpoint, train, test = calibrated
    data = ["--data", str(train), "--dev", str(_write(tmp_path / "dev.csv", TEST[:6])), "--test", str(test)]
    output = tmp_path / "report"
    result = runner.invoke(app, ["report", str(checkpoint), *data, "--allow-degenerate", "-o", str(output), *options])
    assert result.exit_code == 0, result.output
    written = json.loads((output / "report.json").read_text())
    said = json.dumps(written)
    if timed_rows is None:
        assert "not measured (--no-timing)" in said and "was not timed" in " ".join(result.output.split())
        assert all(evaluation["wallclock_speedup"] is None for evaluation in written["evaluations"])
    else:
        assert f"over {timed_rows} test rows" in said
        assert all(evaluation["wallclock_speedup"] > 0 for evaluation in written["evaluations"])


def test_report_refuses_a_timing_sample_of_no_rows(calibrated, tmp_path):
    checkpoint, _, _ = calibrated
    result = runner.invoke(app, ["report", str(checkpoint), "-o", str(tmp_path / "r"), "--timing-rows", "0"])
    assert result.exit_code == 2 and "--timing-rows must be a positive number of rows, got 0" in result.output
