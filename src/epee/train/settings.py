"""Training settings: one validated dataclass shared by the Python API and ``epee train``."""

from __future__ import annotations

from dataclasses import dataclass

from epee.errors import EpeeError
from epee.train.precision import PRECISIONS

DEPTH_WEIGHTINGS = ("asc", "asc_last_half", "uniform")
CLASS_WEIGHTINGS = ("none", "balanced")
SELECTION = ("mean", "last", "mean_near_best_last")
BUDGET_CLOCKS = ("wall", "cpu")


@dataclass(frozen=True)
class TrainingSettings:
    """How to train a multi-exit model.

    ``depth_weights``: ``"asc"`` weighs exit i by i / sum(i) (PABEE, EPEE), ``"asc_last_half"`` puts half
    the loss on the last exit and ``"asc"`` over the rest, ``"uniform"`` weighs all equally, or an explicit
    tuple (one weight per exit). ``class_weighting="balanced"`` counters the
    collapse of shallow exits to the majority class on imbalanced clinical labels (see DESIGN.md).
    ``distill_weight`` > 0 adds self-distillation of every earlier exit from the last one.
    ``earlier_exit_gradient`` < 1 scales the gradient the exits before the last send into the backbone
    (:meth:`MultiExitModel.forward`): under ``"asc"`` they give the lower layers 15/21 of their gradient on six
    exits; 0 trains their heads on the last exit's features. On ChemProt's whole train split 0.25 closes little
    of the last exit's gap to a plain fine-tune (``benchmarks/results/ablation-full``), so the default stays 1.
    ``two_stage`` trains backbone + last exit first, then freezes the backbone and trains all exits.
    ``select_by`` picks the evaluation whose weights are kept: the best on dev by the mean metric over exits,
    by the last exit's, or (``"mean_near_best_last"``, the default) the best mean among evaluations whose last
    exit is within ``selection_tolerance`` of the best last exit so far. The mean alone can keep an early
    evaluation whose shallow exits are good and whose last exit is points below a later one (DDI, ChemProt:
    2-3 dev points); the last alone gives up the shallow exits that early exiting lives on. The rule is applied
    as training goes (only the kept weights are held): the best mean among the evaluations seen when kept.
    ``epochs=None`` means :data:`FINE_TUNING_EPOCHS`, or :func:`scratch_epochs` for a ViT trained
    from scratch (``epee.workflow.fit.train_on_dataset`` decides, as it does the learning rate).
    ``augment`` shifts training images by a few pixels (:meth:`ImageFeaturizer.augment`); texts are never augmented.
    ``bucket_batches`` sorts rows by length within shuffled chunks so batches pad little
    (:mod:`epee.train.sampler`). ``precision``: ``"auto"`` autocasts the forward pass to bf16 on a
    CPU with native bf16 and stays fp32 elsewhere (:mod:`epee.train.precision`).
    ``gradient_accumulation_steps`` micro-batches of ``batch_size`` make one optimizer step.
    Dev is evaluated after every epoch, and every ``eval_every_steps`` optimizer steps if given;
    ``patience`` stops training after that many evaluations in a row that raise neither the last
    exit's dev metric nor the mean over exits. ``save_every_minutes``: how often a resumable run
    saves its state between evaluations. ``budget_clock``: what ``time_budget_minutes`` counts,
    ``"wall"`` seconds or ``"cpu"`` seconds of this process (``time.process_time``): on CPU time a
    run that is paused (SIGSTOP) or shares its core does not spend its budget meanwhile, so runs
    on a busy machine get equal budgets; it counts every thread, so keep it for one-thread runs.
    ``learning_rate`` defaults by method: 3e-4 for PEFT (Taylor et al. 2024, LoRA r=8 on small
    clinical models), 3e-5 for full fine-tuning, where 3e-4 would wreck the pretrained weights.
    """

    epochs: int | None = None
    batch_size: int = 32
    learning_rate: float | None = None
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    depth_weights: str | tuple[float, ...] = "asc"
    class_weighting: str = "balanced"
    distill_weight: float = 0.0
    distill_temperature: float = 2.0
    earlier_exit_gradient: float = 1.0
    two_stage: bool = False
    select_by: str = "mean_near_best_last"
    selection_tolerance: float = 0.01
    augment: bool = True
    seed: int = 42
    max_steps: int | None = None
    time_budget_minutes: float | None = None
    eval_batch_size: int = 64
    bucket_batches: bool = True
    precision: str = "auto"
    gradient_accumulation_steps: int = 1
    eval_every_steps: int | None = None
    patience: int | None = None
    save_every_minutes: float = 10.0
    budget_clock: str = "wall"

    def __post_init__(self) -> None:
        for name in (
            "epochs",
            "batch_size",
            "eval_batch_size",
            "gradient_accumulation_steps",
            "eval_every_steps",
            "patience",
        ):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise EpeeError(f"{name} must be at least 1, got {getattr(self, name)}.")
        for name in ("learning_rate", "head_learning_rate"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise EpeeError(f"{name} must be positive, got {getattr(self, name)}.")
        if isinstance(self.depth_weights, str) and self.depth_weights not in DEPTH_WEIGHTINGS:
            raise EpeeError(
                f"depth_weights {self.depth_weights!r} is unknown; use one of {DEPTH_WEIGHTINGS} or a list of numbers."
            )
        if not isinstance(self.depth_weights, str) and any(weight < 0 for weight in self.depth_weights):
            raise EpeeError(f"depth_weights must be non-negative, got {self.depth_weights}.")
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise EpeeError(f"class_weighting {self.class_weighting!r} is unknown; use one of {CLASS_WEIGHTINGS}.")
        if self.select_by not in SELECTION:
            raise EpeeError(f"select_by {self.select_by!r} is unknown; use one of {SELECTION}.")
        if not self.selection_tolerance >= 0:
            raise EpeeError(f"selection_tolerance must be >= 0 (a metric fraction), got {self.selection_tolerance}.")
        if not 0 <= self.warmup_ratio < 1:
            raise EpeeError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}.")
        if self.distill_weight < 0 or self.distill_temperature <= 0:
            raise EpeeError("distill_weight must be >= 0 and distill_temperature > 0.")
        if not 0 <= self.earlier_exit_gradient <= 1:
            raise EpeeError(f"earlier_exit_gradient must be in [0, 1], got {self.earlier_exit_gradient}.")
        if self.max_steps is not None and self.max_steps < 1:
            raise EpeeError(f"max_steps must be at least 1, got {self.max_steps}.")
        if self.budget_clock not in BUDGET_CLOCKS:
            raise EpeeError(f"budget_clock {self.budget_clock!r} is unknown; use one of {BUDGET_CLOCKS}.")
        if self.precision not in PRECISIONS:
            raise EpeeError(f"precision {self.precision!r} is unknown; use one of {PRECISIONS}.")
        if not self.save_every_minutes > 0:
            raise EpeeError(f"save_every_minutes must be positive, got {self.save_every_minutes}.")
        if self.time_budget_minutes is not None and self.time_budget_minutes <= 0:
            raise EpeeError(f"time_budget_minutes must be positive, got {self.time_budget_minutes}.")


PEFT_LEARNING_RATE = 3e-4
FULL_FINE_TUNING_LEARNING_RATE = 3e-5


def backbone_learning_rate(settings: TrainingSettings, uses_peft: bool) -> float:
    """The backbone's (or adapter's) learning rate: the one given, else the method's default."""
    if settings.learning_rate is not None:
        return settings.learning_rate
    return PEFT_LEARNING_RATE if uses_peft else FULL_FINE_TUNING_LEARNING_RATE


FINE_TUNING_EPOCHS = 3
"""Epochs when none are given and the backbone is pretrained."""

SCRATCH_MIN_STEPS = 300
"""Optimizer steps a ViT trained from scratch gets at the least, whatever the number of images."""


def scratch_epochs(num_examples: int, batch_size: int, *, minimum_epochs: int = 3) -> int:
    """Epochs for a backbone trained from scratch: :data:`SCRATCH_MIN_STEPS` steps, and ``minimum_epochs`` at least.

    A randomly initialised ViT needs a few hundred optimizer steps before any exit beats the
    majority class, however few the images: 500 images at batch 32 are 16 steps an epoch, so the
    three epochs that suit fine-tuning give 48 steps and exits that barely move off the majority
    (issue 19). Light augmentation (:attr:`TrainingSettings.augment`) keeps the extra epochs from
    memorising the images, and the best epoch is chosen on the dev metric.
    """
    if num_examples < 1 or batch_size < 1:
        raise EpeeError(f"scratch_epochs needs positive sizes, got {num_examples} examples at batch {batch_size}.")
    steps_per_epoch = -(-num_examples // batch_size)
    return max(minimum_epochs, -(-SCRATCH_MIN_STEPS // steps_per_epoch))
