"""How to train exits to be used early: every recipe under one equal budget, judged on dev (issue 12, item 3).

    taskset -c 0 env OMP_NUM_THREADS=1 python -m benchmarks.ablation --datasets ddi,chemprot,hoc --budget-minutes 3
    python -m benchmarks.ablation --datasets ddi --arms asc,uniform --max-train 64 --budget-minutes 0.2   # smoke
    python -m benchmarks.ablation --datasets chemprot --max-train 20000 --budget-minutes 10 \
        --arms single_exit,single_exit_full_ft,asc,last_heavy,shallow_grad,full_ft \
        --results benchmarks/results/ablation-full   # the whole train split, beside plain fine-tunes

For each dataset, on one seeded subsample (default 4,000 train / 1,000 dev / 1,500 test), each arm of
:data:`ARMS` trains all-MiniLM-L6-v2 from the same seed on the same batches for the same budget of
CPU minutes (``budget_clock="cpu"``: a run paused with SIGSTOP, or sharing its core, does not spend
its budget meanwhile; run it on one thread), then is calibrated on dev with the suite's rule (the
fastest policy setting within 1 point of the arm's last exit on dev) and that choice applied to test.
An arm is scored by its per-exit dev metric and its dev-calibrated layer speed-up; the winner is named
by :data:`benchmarks.render_ablation.WINNER_RULE` from dev figures only; test figures are reported.

Results go to ``benchmarks/results/ablation/<dataset>.json`` after every arm; a rerun skips the arms
already there (``--force`` redoes them), and an arm interrupted mid-training resumes from its training
state in ``--state-dir``, saved at each dev evaluation (the CPU time spent to then counts). BENCHMARKS.md is
re-rendered at the end (when the results go to the default folder).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from rich.logging import RichHandler

from benchmarks.render import write_benchmarks_md
from benchmarks.render_ablation import ABLATION_DIR, FULL_SPLIT_DIR, WINNER_RULE, winner
from benchmarks.suite import EPSILON, PLANS, machine
from epee.atomic import write_text_atomically
from epee.data import load_dataset
from epee.defaults import DEFAULT_BACKBONE
from epee.errors import EpeeError
from epee.train import TrainingSettings
from epee.workflow.assessment import assess_on_test, calibrate_on_dev
from epee.workflow.fit import build_text_model, train_on_dataset

logger = logging.getLogger("benchmarks.ablation")

ALL_LINEAR = ("query", "key", "value", "output.dense", "intermediate.dense")
"""Every linear layer of a BERT encoder layer (MiniLM's family), not the unused backbone pooler."""


@dataclass(frozen=True)
class Arm:
    """One recipe: what it changes from today's default, in the model it builds and the training settings."""

    description: str
    model: dict = field(default_factory=dict)  # build_text_model options
    settings: dict = field(default_factory=dict)  # TrainingSettings fields
    reference: bool = False  # shown to measure the others against, never a candidate recipe


ARMS: dict[str, Arm] = {
    "asc": Arm("today's default: depth weights asc, per-exit BERT pooler, LoRA q/k/v"),
    "uniform": Arm("depth weights uniform", settings={"depth_weights": "uniform"}),
    "distill": Arm(
        "self-distillation from the last exit (weight 1, T=2)",
        settings={"distill_weight": 1.0, "distill_temperature": 2.0},
    ),
    # Stage 1 (backbone + last exit) gets one epoch, stage 2 (frozen backbone, every exit) the rest of the budget,
    # at most one epoch: with the other arms' epochs, the budget would end inside stage 1.
    "two_stage": Arm(
        "two-stage: last exit 1 epoch, then exits on a frozen backbone", settings={"two_stage": True, "epochs": 1}
    ),
    "head_linear": Arm("linear exit heads (no pooler)", model={"pooler": "none"}),
    "head_mlp": Arm("MLP exit heads (fresh dense+GELU per exit)", model={"pooler": "mlp"}),
    "lora_all_linear": Arm("LoRA on every linear layer (q/k/v/o + feed-forward)", model={"target_modules": ALL_LINEAR}),
    "full_ft": Arm("full fine-tuning (lr 5e-5)", model={"peft": None}, settings={"learning_rate": 5e-5}),
    # Balanced class weights lift rare relations' recall but cost precision on metrics that exclude the negative
    # class (ChemProt, DDI: the last exit's accuracy sits below the majority class's); plain loss is the other side.
    "unweighted": Arm("unweighted loss (no balanced class weights)", settings={"class_weighting": "none"}),
    # The backbone's lower layers get 15/21 of their gradient from exits 1-5 under asc: does the last exit lag a
    # plain fine-tune for that share? Half of the loss on the last exit, asc over the rest (six exits: MiniLM-L6).
    "last_heavy": Arm(
        "half the loss on the last exit, asc over the rest", settings={"depth_weights": (1, 2, 3, 4, 5, 15)}
    ),
    "shallow_grad": Arm(
        "exits before the last send a quarter of their gradient into the backbone",
        settings={"earlier_exit_gradient": 0.25},
    ),
    # Under full fine-tuning the last exit still trails a plain full fine-tune by ~6 points on ChemProt: the same two
    # remedies, with the backbone's every weight open to the exits' gradient.
    "full_ft_last_heavy": Arm(
        "full fine-tuning, half the loss on the last exit",
        model={"peft": None},
        settings={"learning_rate": 5e-5, "depth_weights": "asc_last_half"},
    ),
    "full_ft_shallow_grad": Arm(
        "full fine-tuning, exits before the last send a quarter of their gradient into the backbone",
        model={"peft": None},
        settings={"learning_rate": 5e-5, "earlier_exit_gradient": 0.25},
    ),
    "single_exit": Arm(
        "reference: a plain fine-tune, one exit at the last layer", model={"first_exit_layer": 6}, reference=True
    ),
    "single_exit_full_ft": Arm(
        "reference: a plain full fine-tune (lr 5e-5), one exit at the last layer",
        model={"first_exit_layer": 6, "peft": None},
        settings={"learning_rate": 5e-5},
        reference=True,
    ),
}
DEFAULT_DATASETS = ("ddi", "chemprot", "hoc")


@dataclass(frozen=True)
class Setup:
    """What every arm of a run shares; recorded in the results, and a rerun must match it to continue them."""

    sizes: dict[str, int]
    budget_minutes: float
    epochs: int = 2
    batch_size: int = 32
    seed: int = 42
    budget_clock: str = "cpu"
    model: str = DEFAULT_BACKBONE
    # The rule the recorded tables were run under, pinned so they stay comparable as the trainer's default moves.
    select_by: str = "mean"


def arm_settings(setup: Setup, arm: Arm, dataset_name: str) -> TrainingSettings:
    plan = PLANS[dataset_name]
    base = TrainingSettings(
        epochs=setup.epochs,
        batch_size=setup.batch_size,
        learning_rate=plan.learning_rate,
        head_learning_rate=plan.head_learning_rate,
        time_budget_minutes=setup.budget_minutes,
        seed=setup.seed,
        budget_clock=setup.budget_clock,
        select_by=setup.select_by,
    )
    return replace(base, **arm.settings)


def run_arm(dataset, setup: Setup, name: str, arm: Arm, state_dir: Path | None) -> dict:
    """Train one arm, calibrate it on dev, apply the dev choice to test: its row of the table, as plain JSON."""
    plan, settings = PLANS[dataset.name], arm_settings(setup, arm, dataset.name)
    started, cpu_started = time.monotonic(), time.process_time()
    torch.manual_seed(setup.seed)  # heads and adapters start alike in every arm
    options = {"backbone": setup.model, "max_length": plan.max_length, "truncation": plan.truncation}
    model = build_text_model(dataset, **(options | arm.model))
    train_on_dataset(model, dataset, settings, state_dir=state_dir)
    history = model.config.training["history"]
    try:
        dev, did_not_learn = calibrate_on_dev(model, dataset, value=EPSILON), None
    except EpeeError as error:  # every setting is degenerate on dev: shown in the table, never the winner
        dev, did_not_learn = calibrate_on_dev(model, dataset, value=EPSILON, allow_degenerate=True), str(error)
    test = assess_on_test(model, dataset, {dev.selected.policy: dev.selected}, timing=False, seed=setup.seed)
    (on_test,) = test.evaluations
    return {
        "description": arm.description,
        "reference": arm.reference,
        "model_options": {key: list(value) if isinstance(value, tuple) else value for key, value in arm.model.items()},
        "settings": {key: value for key, value in asdict(settings).items() if key in arm.settings},
        "training": {
            "steps": history["steps"],
            "budget_seconds": round(history["seconds"], 1),
            "stopped_by": history["stopped_by"],
            "best_stage": history["best_stage"],
            "best_epoch": history["best_epoch"],
        },
        "per_exit_dev": list(dev.calibration.per_exit_metric),
        "per_exit_test": list(test.per_exit_test_metric),
        "selected_on_dev": {
            "policy": dev.selected.policy,
            "params": dev.selected.params,
            "dev_metric": dev.selected.metric,
            "dev_layer_speedup": dev.selected.layer_speedup,
        },
        "test_of_dev_choice": {"test_metric": on_test.test_metric, "layer_speedup": on_test.layer_speedup},
        "oracle_dev_layer_speedup": dev.calibration.oracle.layer_speedup,
        "did_not_learn": did_not_learn,
        "wall_seconds": round(time.monotonic() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
    }


def run_dataset(name: str, setup: Setup, arms: list[str], results_dir: Path, state_root: Path, force: bool) -> dict:
    """Every arm of ``arms`` not yet in the dataset's results, each written as soon as it finishes."""
    path = results_dir / f"{name}.json"
    shared = asdict(setup)
    results = json.loads(path.read_text()) if path.is_file() else {}
    if results and Setup(**results["setup"]) != setup:  # a field added since takes its default: its value then
        if not force:
            raise EpeeError(
                f"{path} holds arms run with another setup ({results['setup']}); rerun with that setup to continue "
                "it, or pass --force to start it again with this one."
            )
        results = {}
    dataset = load_dataset(name, max_examples=setup.sizes, seed=setup.seed, **PLANS[name].loader_options)
    results = {
        "dataset": name,
        "metric": dataset.metric,
        "setup": shared,
        "sizes": {split: len(examples) for split, examples in dataset.splits().items()},
        "arms": results.get("arms", {}),
        "machine": machine(),
    }
    for arm_name in arms:
        if arm_name in results["arms"] and not force:
            logger.info("%s/%s: done already, skipped.", name, arm_name)
            continue
        state_dir = state_root / f"{name}-{arm_name}.train-state"
        logger.info("%s/%s: %s", name, arm_name, ARMS[arm_name].description)
        results["arms"][arm_name] = run_arm(dataset, setup, arm_name, ARMS[arm_name], state_dir)
        results["arms"] = {key: results["arms"][key] for key in ARMS if key in results["arms"]}  # table order
        write_text_atomically(path, json.dumps(results, indent=2) + "\n")
        shutil.rmtree(state_dir, ignore_errors=True)
        arm = results["arms"][arm_name]
        logger.info(
            "%s/%s: dev last exit %.1f, dev-calibrated %.2fx (%d steps in %.0f CPU s).",
            name,
            arm_name,
            100 * arm["per_exit_dev"][-1],
            arm["selected_on_dev"]["dev_layer_speedup"],
            arm["training"]["steps"],
            arm["training"]["budget_seconds"],
        )
    logger.info("%s: dev winner %s (%s).", name, winner(results["arms"]), WINNER_RULE)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS), help="Comma-separated text datasets.")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"Comma-separated, of {', '.join(ARMS)}.")
    parser.add_argument("--budget-minutes", type=float, default=3.0, help="CPU minutes of training per arm.")
    parser.add_argument("--epochs", type=int, default=Setup.epochs, help="Length of the learning-rate schedule.")
    parser.add_argument("--max-train", type=int, default=4000)
    parser.add_argument("--max-dev", type=int, default=1000)
    parser.add_argument("--max-test", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=Setup.seed)
    parser.add_argument("--results", type=Path, default=ABLATION_DIR)
    parser.add_argument("--state-dir", type=Path, default=Path("runs/ablation"), help="Training states of arms.")
    parser.add_argument("--force", action="store_true", help="Redo arms that already have results.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(show_path=False)])

    names, arms = args.datasets.split(","), args.arms.split(",")
    if unknown := sorted(set(names) - set(PLANS)) + sorted(set(arms) - set(ARMS)):
        parser.error(f"unknown datasets or arms {unknown}; datasets {list(PLANS)}, arms {list(ARMS)}")
    if torch.get_num_threads() != 1:
        logger.warning(
            "%d torch threads: the CPU-time budget counts them all; set OMP_NUM_THREADS=1.", torch.get_num_threads()
        )
    sizes = {"train": args.max_train, "dev": args.max_dev, "test": args.max_test}
    setup = Setup(sizes, args.budget_minutes, args.epochs, seed=args.seed)
    args.results.mkdir(parents=True, exist_ok=True)
    for name in names:
        run_dataset(name, setup, arms, args.results, args.state_dir, args.force)
    if args.results.resolve() in (ABLATION_DIR, FULL_SPLIT_DIR):  # BENCHMARKS.md shows the committed results only
        logger.info("Wrote %s.", write_benchmarks_md())


if __name__ == "__main__":
    main()
