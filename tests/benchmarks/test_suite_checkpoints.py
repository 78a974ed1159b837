"""The suite reuses a saved model only when it was trained with the plan's settings: a stale checkpoint must not
be reported under a changed plan (the depth weights of a dataset's plan, say)."""

from dataclasses import asdict, replace
from types import SimpleNamespace

import pytest

from benchmarks.suite import PLANS, Training, trained_model, training_settings
from epee.errors import EpeeError
from tests.helpers import tiny_bert_model


def _saved_model(directory, settings):
    model = tiny_bert_model()
    model.config.training = {"settings": asdict(settings), "history": {"stopped_by": "epochs"}}
    model.save_pretrained(directory)
    return model


def test_a_checkpoint_trained_with_the_plans_settings_is_reused(tmp_path):
    settings = training_settings(PLANS["ddi"], Training(budget_minutes=40, full=True), seed=42)
    saved = _saved_model(tmp_path / "ddi", settings)
    reused = trained_model(
        SimpleNamespace(name="ddi"), PLANS["ddi"], settings, single_exit=False, checkpoint=tmp_path / "ddi"
    )
    assert reused.config.training == saved.config.training


def test_a_checkpoint_trained_with_other_depth_weights_is_refused_not_reused(tmp_path):
    plan = PLANS["ddi"]
    settings = training_settings(plan, Training(budget_minutes=40, full=True), seed=42)
    _saved_model(tmp_path / "ddi", replace(settings, depth_weights="asc"))
    with pytest.raises(EpeeError, match=r"trained with other settings \(depth_weights\) than the plan's"):
        trained_model(SimpleNamespace(name="ddi"), plan, settings, single_exit=False, checkpoint=tmp_path / "ddi")
