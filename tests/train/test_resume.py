"""A run stopped after k steps and resumed for k more ends bit-for-bit where a run of 2k steps ends."""

from dataclasses import replace

import pytest
import torch

from epee.errors import EpeeError
from epee.train import TrainingSettings, train
from epee.train.state import has_training_state, load_training_state, save_training_state
from tests.helpers import tiny_bert_model
from tests.train.test_trainer import _accuracy, _toy_split


class _Interrupted(Exception):
    pass


class _InterruptAfterFirstSave:
    """Wraps a featurizer: the first training batch after a state was saved raises, like a machine going away."""

    def __init__(self, featurizer, model, state_dir):
        self.featurizer, self.model, self.state_dir = featurizer, model, state_dir

    def collate(self, features):
        if self.model.training and has_training_state(self.state_dir):
            raise _Interrupted
        return self.featurizer.collate(features)


def _settings(**overrides):
    values = dict(
        epochs=4,
        batch_size=8,
        learning_rate=1e-2,
        head_learning_rate=3e-2,
        warmup_ratio=0.25,
        seed=3,
        max_steps=10,
        eval_every_steps=5,
        save_every_minutes=1e9,
        precision="fp32",
    )
    return TrainingSettings(**{**values, **overrides})


def _straight_and_interrupted(settings, state_dir):
    """A run straight through, and the same run (same initial weights) interrupted after its first saved state:
    the straight model, its history, the data, and the interrupted run's state in ``state_dir``."""
    torch.manual_seed(0)
    straight = tiny_bert_model()
    featurizer, split = _toy_split(straight)
    initial = {name: tensor.clone() for name, tensor in straight.state_dict().items()}
    expected = train(straight, featurizer, split, split, settings, _accuracy)

    interrupted = tiny_bert_model()
    interrupted.load_state_dict(initial)
    with pytest.raises(_Interrupted):
        wrapped = _InterruptAfterFirstSave(featurizer, interrupted, state_dir)
        train(interrupted, wrapped, split, split, settings, _accuracy, state_dir=state_dir)
    return straight, expected, featurizer, split


@pytest.mark.parametrize(
    "overrides",
    [{}, {"gradient_accumulation_steps": 2, "max_steps": 6, "eval_every_steps": 3, "two_stage": True, "epochs": 2}],
    ids=["plain", "accumulation-two-stage"],
)
def test_resumed_run_equals_uninterrupted_run(tmp_path, overrides):
    settings = _settings(**overrides)
    state_dir = tmp_path / "state"
    straight, expected, featurizer, split = _straight_and_interrupted(settings, state_dir)

    torch.manual_seed(123)  # a fresh process: other weights, other RNG; the state restores both
    resumed = tiny_bert_model()
    history = train(resumed, featurizer, split, split, settings, _accuracy, state_dir=state_dir)

    assert history.steps == expected.steps == settings.max_steps
    assert [record.dev_exit_metrics for record in history.epochs] == [r.dev_exit_metrics for r in expected.epochs]
    assert [record.train_loss for record in history.epochs] == [r.train_loss for r in expected.epochs]
    assert history.best_index == expected.best_index and history.stopped_by == expected.stopped_by
    for name, tensor in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], tensor), name


def test_a_state_saved_before_the_kept_evaluation_rule_resumes_like_it_was_saved_now(tmp_path):
    """States written before ``selection_tolerance`` and ``kept_last`` / ``kept_mean`` existed (they held one
    ``best_score``) resume: the new setting takes its default, the old score serves the rule it was saved under."""
    settings = _settings(select_by="mean")
    state_dir = tmp_path / "state"
    straight, expected, featurizer, split = _straight_and_interrupted(settings, state_dir)
    state = load_training_state(state_dir)
    del state["settings"]["selection_tolerance"]
    progress = state["progress"]
    progress["best_score"] = progress.pop("kept_mean")
    del progress["kept_last"]
    save_training_state(state_dir, state, {})

    resumed = tiny_bert_model()
    history = train(resumed, featurizer, split, split, settings, _accuracy, state_dir=state_dir)
    assert history.best_index == expected.best_index and history.steps == expected.steps
    for name, tensor in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], tensor), name


def test_resume_refuses_other_settings(tmp_path):
    model = tiny_bert_model()
    featurizer, split = _toy_split(model)
    train(model, featurizer, split, split, _settings(max_steps=5), _accuracy, state_dir=tmp_path)
    with pytest.raises(EpeeError, match="learning_rate"):
        train(
            model, featurizer, split, split, _settings(max_steps=5, learning_rate=1e-3), _accuracy, state_dir=tmp_path
        )


def test_patience_stops_after_evaluations_without_gain():
    model = tiny_bert_model()
    featurizer, split = _toy_split(model)
    # Learning rates too small to move a prediction: the first evaluation is the best one.
    settings = _settings(learning_rate=1e-12, head_learning_rate=1e-12, max_steps=None, eval_every_steps=1, patience=2)
    history = train(model, featurizer, split, split, settings, _accuracy)
    assert history.stopped_by == "early_stopping"
    assert len(history.epochs) == 3 and history.steps == 3 and history.best_index == 0


def test_a_run_stopped_early_and_resumed_with_more_patience_equals_the_more_patient_run(tmp_path):
    # As above, the first evaluation stays the best: patience 2 stops at step 3, patience 4 at step 5.
    settings = _settings(learning_rate=1e-12, head_learning_rate=1e-12, max_steps=None, eval_every_steps=1)
    torch.manual_seed(0)
    straight = tiny_bert_model()
    featurizer, split = _toy_split(straight)
    initial = {name: tensor.clone() for name, tensor in straight.state_dict().items()}
    expected = train(straight, featurizer, split, split, replace(settings, patience=4), _accuracy)

    resumed = tiny_bert_model()
    resumed.load_state_dict(initial)
    impatient = train(resumed, featurizer, split, split, replace(settings, patience=2), _accuracy, state_dir=tmp_path)
    assert (impatient.stopped_by, impatient.steps) == ("early_stopping", 3)
    history = train(resumed, featurizer, split, split, replace(settings, patience=4), _accuracy, state_dir=tmp_path)

    assert (history.stopped_by, history.steps) == (expected.stopped_by, expected.steps) == ("early_stopping", 5)
    assert [record.train_loss for record in history.epochs] == [r.train_loss for r in expected.epochs]
    for name, tensor in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], tensor), name


def test_accumulated_micro_batches_make_the_step_of_one_batch():
    torch.manual_seed(0)
    whole = tiny_bert_model(dropout=0.0)
    whole.backbone.config.hidden_dropout_prob = 0.0
    for module in whole.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    halves = tiny_bert_model(dropout=0.0)
    halves.load_state_dict(whole.state_dict())
    for module in halves.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    featurizer, split = _toy_split(whole)
    common = dict(
        epochs=1, max_steps=1, warmup_ratio=0.0, bucket_batches=False, precision="fp32", class_weighting="none"
    )
    train(whole, featurizer, split, None, TrainingSettings(batch_size=8, **common), _accuracy)
    train(
        halves,
        featurizer,
        split,
        None,
        TrainingSettings(batch_size=4, gradient_accumulation_steps=2, **common),
        _accuracy,
    )
    for name, tensor in whole.state_dict().items():
        torch.testing.assert_close(halves.state_dict()[name], tensor, rtol=1e-4, atol=1e-6, msg=name)
