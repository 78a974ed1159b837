"""The training loop learns a separable toy task and keeps the best dev epoch."""

import time

import pytest
import torch

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
