"""The training loop learns a separable toy task and keeps the best dev epoch."""

import time

import pytest
import torch

from epee.errors import EpeeError
from epee.tasks.encoding import EncodedSplit, TextFeaturizer, label_targets
from epee.train import TrainingSettings, train
from tests.helpers import tiny_bert_model


def _accuracy(predictions, gold):
    return float((predictions == gold).mean())


def _toy_split(model):
    texts = ["good great fine nice"] * 16 + ["bad awful poor sad"] * 16
    labels = [("positive",)] * 16 + [("negative",)] * 16
    featurizer = TextFeaturizer(model.tokenizer, 16)
    features = featurizer.encode_texts(texts)
    return featurizer, EncodedSplit(
        features, label_targets(labels, model.config.label_names, False), featurizer.sequence_lengths(features)
    )


def test_all_exits_learn_a_separable_task_and_history_is_recorded():
    torch.manual_seed(0)
    model = tiny_bert_model()
    featurizer, split = _toy_split(model)
    settings = TrainingSettings(
        epochs=6, batch_size=8, learning_rate=1e-2, head_learning_rate=3e-2, warmup_ratio=0.0, seed=1
    )
    history = train(model, featurizer, split, split, settings, _accuracy)
    assert history.best.dev_exit_metrics == [1.0, 1.0, 1.0]
    stored = model.config.training["history"]
    assert (stored["best_stage"], stored["best_epoch"]) == (1, history.best.epoch)  # 1-based, as the log counts
    assert history.best.epoch == history.best_index + 1 and "best_index" not in stored
    assert history.stopped_by == "epochs"
    assert history.steps == 24


def test_step_budget_stops_training():
    model = tiny_bert_model()
    featurizer, split = _toy_split(model)
    history = train(model, featurizer, split, None, TrainingSettings(epochs=5, batch_size=8, max_steps=3), _accuracy)
    assert history.steps == 3 and history.stopped_by == "max_steps"


@pytest.mark.parametrize(("clock", "spent"), [("wall", True), ("cpu", False)])
def test_a_cpu_time_budget_is_not_spent_while_the_process_waits(clock, spent):
    """A paused (SIGSTOP) or preempted run sleeps as far as its CPU clock can tell: 0.6 s asleep spend a
    0.5 s wall-clock budget, and (almost) none of a CPU-time one."""
    from epee.train.trainer import _Budget, _Progress

    budget = _Budget(TrainingSettings(time_budget_minutes=0.5 / 60, budget_clock=clock), _Progress())
    time.sleep(0.6)
    assert (budget.exhausted() == "time_budget") is spent
    assert (budget.elapsed() >= 0.5) is spent


def test_lora_training_updates_only_adapter_and_heads():
    model = tiny_bert_model()
    model.add_peft()
    frozen_before = model.backbone.embeddings.word_embeddings.weight.clone()
    featurizer, split = _toy_split(model)
    train(model, featurizer, split, None, TrainingSettings(epochs=1, batch_size=8), _accuracy)
    assert torch.equal(model.backbone.embeddings.word_embeddings.weight, frozen_before)
    assert any(name for name, p in model.backbone.named_parameters() if "lora_B" in name and p.abs().sum() > 0)


# Dev (last exit, mean over exits) of five evaluations: the mean peaks early (evaluation 1) while the last exit
# climbs until evaluation 3; evaluation 4 is within one point of the best last exit with a better mean.
DEV_EVALUATIONS = [(0.50, 0.40), (0.52, 0.45), (0.55, 0.41), (0.56, 0.39), (0.553, 0.42)]


@pytest.mark.parametrize(
    ("select_by", "kept_after_each"),
    [
        ("mean", [0, 1, 1, 1, 1]),
        ("last", [0, 1, 2, 3, 3]),
        ("mean_near_best_last", [0, 1, 2, 2, 4]),  # 2 stays near the best last (0.56) with a better mean than 3
    ],
)
def test_the_kept_evaluation_follows_select_by(select_by, kept_after_each):
    from epee.train.trainer import _Progress

    settings, progress, kept, trace = TrainingSettings(select_by=select_by), _Progress(), None, []
    for index, (last, mean) in enumerate(DEV_EVALUATIONS):
        kept = index if progress.record_dev(settings, last, mean) else kept
        trace.append(kept)
    assert trace == kept_after_each


def test_a_zero_tolerance_keeps_the_best_last_exit_and_breaks_its_ties_by_the_mean():
    from epee.train.trainer import _Progress

    settings, progress = TrainingSettings(select_by="mean_near_best_last", selection_tolerance=0.0), _Progress()
    kept = [progress.record_dev(settings, last, mean) for last, mean in [(0.5, 0.3), (0.5, 0.4), (0.5, 0.35)]]
    assert kept == [True, True, False]


def test_selection_tolerance_must_not_be_negative():
    with pytest.raises(EpeeError, match="selection_tolerance"):
        TrainingSettings(select_by="mean_near_best_last", selection_tolerance=-0.01)
