"""`--metric` for user files: stored in the checkpoint, used by training, calibration and every table title."""

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score
from typer.testing import CliRunner

from epee.cli.main import app
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for
from epee.policies import make_policy, simulate
from epee.runtime.exit_logits import collect_exit_logits, predictions_from_logits
from epee.workflow.checkpoint_data import load_checkpoint_and_data
from epee.workflow.exit_table import exit_metric_table
from tests.helpers import save_tiny_backbone

runner = CliRunner()
WORDS = {"yes": ["pain", "fever", "rash"], "no": ["fine", "well", "calm"]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metric")
    rows = [(f"patient {number} {WORDS[label][number % 3]}", label) for number in range(60) for label in ("yes", "no")]
    rows += [(f"patient {number} {WORDS['no'][number % 3]} again", "no") for number in range(60)]  # yes is rarer
    data = folder / "notes.csv"
    data.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in rows))
    checkpoint = folder / "model"
    backbone = save_tiny_backbone(folder / "backbone")
    command = ["train", "--data", str(data), "--backbone", backbone, "--peft", "none", "--epochs", "2"]
    result = runner.invoke(app, [*command, "--metric", "f1_positive", "--positive-label", "yes", "-o", str(checkpoint)])
    assert result.exit_code == 0, result.output
    assert "Dev f1_positive ('yes') per exit" in " ".join(result.output.split())
    return checkpoint


def test_the_metric_is_stored_and_reproduces_scikit_learn(trained):
    recipe = MultiExitModel.from_pretrained(trained).config.data_recipe
    assert (recipe["metric"], recipe["positive_label"]) == ("f1_positive", "yes")
    result = runner.invoke(app, ["calibrate", str(trained), "--allow-degenerate"])  # a tiny random backbone
    assert result.exit_code == 0, result.output
    assert "Dev f1_positive ('yes') per exit" in " ".join(result.output.split())
    stored = json.loads((trained / "policy.json").read_text())["calibration"]
    calibration = stored["result"]
    assert calibration["metric_name"] == "f1_positive"

    model, dataset = load_checkpoint_and_data(trained, {})
    featurizer = featurizer_for(model)
    split = encode_split(featurizer, dataset.dev, model)
    per_exit = predictions_from_logits(collect_exit_logits(model, featurizer, split), multi_label=False)
    gold = split.labels.numpy()
    positive = model.config.label_names.index("yes")
    expected = [f1_score(gold, predictions, pos_label=positive, average="binary") for predictions in per_exit]
    np.testing.assert_allclose(calibration["per_exit_metric"], expected, atol=1e-12)

    # "Within 1 point" is within one point of that F1: the selected setting's F1 is at most 0.01 below the last exit's.
    assert (stored["rule"], stored["value"]) == ("fastest_within", 0.01)  # one point, in metric units
    assert stored["selected"]["metric"] >= expected[-1] - 0.01 - 1e-9


def test_a_registered_dataset_refuses_metric_options(trained):
    result = runner.invoke(app, ["evaluate", str(trained), "--dataset", "ddi", "--metric", "accuracy"])
    assert result.exit_code == 2 and "--metric applies to your own files" in " ".join(result.output.split())


def test_auc_is_of_the_deciding_exits_probabilities(trained, tmp_path):
    output = tmp_path / "auc"
    result = runner.invoke(app, ["calibrate", str(trained), "--metric", "auc", "--allow-degenerate", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "Dev auc per exit" in " ".join(result.output.split())
    stored = json.loads((output / "policy.json").read_text())["calibration"]["result"]

    model, dataset = load_checkpoint_and_data(trained, {"metric": "auc"})
    assert (dataset.metric, dataset.positive_label) == ("auc", None)  # --metric drops the recorded positive label
    featurizer = featurizer_for(model)
    logits = collect_exit_logits(model, featurizer, encode_split(featurizer, dataset.dev, model))
    gold = encode_split(featurizer, dataset.dev, model).labels.numpy()
    positive = torch.softmax(logits, dim=-1)[..., 1].numpy()  # [exits, rows]; class 1 is "yes"
    expected = [roc_auc_score(gold, scores) for scores in positive]
    np.testing.assert_allclose(stored["per_exit_metric"], expected, atol=1e-12)

    policy = make_policy("maxprob", threshold=float(np.median(np.maximum(positive[0], 1 - positive[0]))))
    table = exit_metric_table(model, dataset, "dev", policy)  # what `epee evaluate --policy` prints
    np.testing.assert_allclose(table.metrics["auc"], [*expected, 0.5], atol=1e-12)
    exit_index = simulate(policy, logits, multi_label=False).exit_index.numpy()
    assert 0 < exit_index.mean() < len(model.exit_layers) - 1  # rows leave at different exits
    chosen = positive[exit_index, np.arange(len(gold))]
    assert table.policy.metric == pytest.approx(roc_auc_score(gold, chosen), abs=1e-12)
    said = " ".join(runner.invoke(app, ["evaluate", str(trained), "--metric", "auc"]).output.split())
    assert "judged by auc" in said
