"""The training loop: joint loss over exits, optional two stages, dev evaluations, best kept, resumable.

Each optimizer step runs ``gradient_accumulation_steps`` length-bucketed micro-batches
(:mod:`epee.train.sampler`) under the chosen precision (:mod:`epee.train.precision`). Dev is
evaluated at the end of every epoch (and every ``eval_every_steps`` steps) with one all-exit pass
that scores every exit. With a ``state_dir`` the loop saves everything it needs to continue
(:mod:`epee.train.state`) at each evaluation and every ``save_every_minutes``, and a later call
with the same directory continues exactly where the state was saved: the same batches, dropout
masks and learning rates as a run never interrupted.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup, set_seed

from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.runtime.exit_logits import collect_exit_logits, per_exit_metric, predictions_from_logits
from epee.tasks.degeneracy import per_exit_degeneracy
from epee.tasks.encoding import EncodedSplit
from epee.tasks.image_encoding import ImageFeaturizer
from epee.tasks.metrics import Metric
from epee.train.losses import JointExitLoss, balanced_class_weights, depth_weights
from epee.train.precision import forward_precision, resolve_precision
from epee.train.sampler import training_batches
from epee.train.settings import FINE_TUNING_EPOCHS, TrainingSettings, backbone_learning_rate
from epee.train.state import has_training_state, load_training_state, save_training_state

logger = logging.getLogger(__name__)


@dataclass
class EpochRecord:
    """One dev evaluation: at the end of an epoch, or every ``eval_every_steps`` optimizer steps."""

    stage: int
    epoch: int
    train_loss: float
    dev_exit_metrics: list[float] | None
    seconds: float
    dev_exit_degenerate: list[str | None] | None = None  # why each exit is degenerate on dev (epee.tasks.degeneracy)
    step: int = 0  # optimizer steps done when evaluated


STOP_REASONS = ("epochs", "max_steps", "time_budget", "early_stopping")
"""Why training ended: every epoch ran, the step budget, the time budget, or ``patience`` evaluations without gain."""


@dataclass
class TrainingHistory:
    """What happened during training; stored in the checkpoint's config.

    ``best_index`` indexes ``epochs`` (internal); the stored config and every message name the kept
    epoch as users count it, 1-based per stage (``best_stage``, ``best_epoch``), as the log does.
    """

    epochs: list[EpochRecord] = field(default_factory=list)
    best_index: int | None = None
    steps: int = 0
    seconds: float = 0.0
    stopped_by: str = "epochs"

    @property
    def best(self) -> EpochRecord | None:
        """The epoch whose weights were kept (best on dev), or None without a dev split."""
        return None if self.best_index is None else self.epochs[self.best_index]

    def to_dict(self) -> dict:
        stored = asdict(self)
        del stored["best_index"]
        best = self.best
        stored["best_stage"], stored["best_epoch"] = (best.stage, best.epoch) if best else (None, None)
        return stored

    @property
    def learned(self) -> bool | None:
        """Whether the kept epoch has an exit that is not degenerate on dev; None without a dev split."""
        if self.best is None or self.best.dev_exit_degenerate is None:
            return None
        return not all(self.best.dev_exit_degenerate)


@dataclass
class _Progress:
    """Where the loop is and what it has found: everything besides tensors that a resumed run needs."""

    stage: int = 1
    epoch: int = 1
    batch: int = 0  # next micro-batch of the epoch
    steps: int = 0
    seconds: float = 0.0  # training time before this process (resumed runs)
    kept_last: float = -math.inf  # dev metrics of the kept evaluation
    kept_mean: float = -math.inf
    best_last: float = -math.inf
    best_mean: float = -math.inf
    evaluations_without_gain: int = 0
    losses: list[float] = field(default_factory=list)  # since the last evaluation
    history: TrainingHistory = field(default_factory=TrainingHistory)
    stopped_by: str | None = None  # None while training goes on; then one of STOP_REASONS

    def record_dev(self, settings: TrainingSettings, last: float, mean: float) -> bool:
        """Count one dev evaluation (the last exit's metric and the mean over exits); whether its weights are
        to be kept under ``settings.select_by``."""
        if settings.select_by == "last":
            keep = last > self.kept_last
        elif settings.select_by == "mean":
            keep = mean > self.kept_mean
        else:
            floor = max(self.best_last, last) - settings.selection_tolerance - 1e-12  # the slack keeps a tie near
            keep = last >= floor and (self.kept_last < floor or mean > self.kept_mean)
        if keep:
            self.kept_last, self.kept_mean = last, mean
        gained = last > self.best_last or mean > self.best_mean
        self.best_last, self.best_mean = max(self.best_last, last), max(self.best_mean, mean)
        self.evaluations_without_gain = 0 if gained else self.evaluations_without_gain + 1
        return keep

    def to_dict(self) -> dict:
        return asdict(self)  # the history with its internal best_index, unlike TrainingHistory.to_dict

    @classmethod
    def from_dict(cls, values: dict) -> _Progress:
        history = dict(values["history"])
        history["epochs"] = [EpochRecord(**record) for record in history["epochs"]]
        values = dict(values)
        if "best_score" in values:  # saved before kept_last / kept_mean: the kept score under "mean" or "last"
            values["kept_last"] = values["kept_mean"] = values.pop("best_score")
        return cls(**{**values, "history": TrainingHistory(**history)})


class _Budget:
    """Stops training at a step count or a time budget (counting earlier, resumed parts), whichever first.

    The time is wall-clock seconds, or this process's CPU seconds under ``budget_clock="cpu"``.
    """

    def __init__(self, settings: TrainingSettings, progress: _Progress):
        self.max_steps = settings.max_steps
        self.progress = progress
        self.clock = time.process_time if settings.budget_clock == "cpu" else time.monotonic
        self.started = self.clock() - progress.seconds
        self.limit = None if settings.time_budget_minutes is None else 60 * settings.time_budget_minutes

    def elapsed(self) -> float:
        return self.clock() - self.started

    def exhausted(self) -> str | None:
        if self.max_steps is not None and self.progress.steps >= self.max_steps:
            return "max_steps"
        if self.limit is not None and self.elapsed() >= self.limit:
            return "time_budget"
        return None


RESUMABLE_CHANGES = ("time_budget_minutes", "save_every_minutes", "budget_clock", "patience")
"""Settings a resumed run may change: how long it may still run, how that is counted, how long it waits for a
gain on dev, and how often it saves (states saved before ``budget_clock`` existed then resume too)."""


def changed_settings(settings: TrainingSettings, saved: dict) -> list[str]:
    """The settings, but for :data:`RESUMABLE_CHANGES`, in which ``saved`` (a run's recorded settings) differs from
    ``settings``: a state or a model saved under any of them is another run's, not one to continue or reuse."""
    ours = {key: value for key, value in asdict(settings).items() if key not in RESUMABLE_CHANGES}
    theirs = asdict(TrainingSettings()) | saved  # settings added since take their defaults
    return sorted(key for key in ours if ours[key] != theirs.get(key))


def train(
    model: MultiExitModel,
    featurizer,
    train_split: EncodedSplit,
    dev_split: EncodedSplit | None,
    settings: TrainingSettings,
    metric: Metric,
    metric_name: str = "metric",
    *,
    state_dir: Path | None = None,
    context: dict | None = None,
) -> TrainingHistory:
    """Train ``model`` in place and leave it with the best dev evaluation's weights.

    Stage 1 (only when ``two_stage``) trains the backbone and the last exit; the final stage
    trains every exit with the joint loss — with the backbone frozen after a first stage.
    With ``state_dir``, the run saves a resumable state there, and continues from one it finds
    (the model must be built the same way; the settings must match but for :data:`RESUMABLE_CHANGES`).
    ``context`` (plain JSON) is saved beside the state, to say how the run was started.
    """
    if settings.epochs is None:
        settings = replace(settings, epochs=FINE_TUNING_EPOCHS)
    set_seed(settings.seed)
    loop = _Loop(model, featurizer, train_split, dev_split, settings, metric, metric_name, state_dir, context or {})
    history = loop.run()
    if loop.best_state is not None:
        model.load_state_dict(loop.best_state, strict=False)
    _set_trainable(model, freeze_backbone=False)  # undo stage-2 freezing
    history.steps, history.seconds = loop.progress.steps, loop.budget.elapsed()
    model.config.training = {"settings": asdict(settings), "history": history.to_dict()}
    model.eval()
    if history.learned is False:
        kept = history.best
        logger.warning(
            "The model did not learn: every exit is degenerate on dev at the kept epoch (last exit: %s). "
            "Train longer, on more data, or check the labels before calibrating.",
            kept.dev_exit_degenerate[-1],
        )
    return history


class _Loop:
    """One training run: stages of epochs of optimizer steps, evaluations, saves, and the way back in."""

    def __init__(self, model, featurizer, train_split, dev_split, settings, metric, metric_name, state_dir, context):
        self.model, self.featurizer, self.settings, self.metric = model, featurizer, settings, metric
        self.metric_name = metric_name
        self.train_split, self.dev_split = train_split, dev_split
        self.state_dir = None if state_dir is None else Path(state_dir)
        self.context = context
        self.precision = resolve_precision(settings.precision)
        multi_label, num_exits = model.config.multi_label, len(model.exit_layers)
        self.class_weights = None
        if settings.class_weighting == "balanced":
            self.class_weights = balanced_class_weights(train_split.labels, model.config.num_labels, multi_label)
        joint_weights = depth_weights(settings.depth_weights, num_exits)
        last_only = torch.zeros(num_exits)
        last_only[-1] = 1.0
        self.stages = [(last_only, False), (joint_weights, True)] if settings.two_stage else [(joint_weights, False)]
        self.progress, self.best_state, self.saved = _Progress(), None, None
        if self.state_dir is not None and has_training_state(self.state_dir):
            self._restore(load_training_state(self.state_dir))
        self.budget = _Budget(settings, self.progress)
        self.last_save = self.last_evaluation = time.monotonic()

    def _restore(self, saved: dict) -> None:
        if changed := changed_settings(self.settings, saved["settings"]):
            raise EpeeError(
                f"The training state in {self.state_dir} was saved with other settings ({', '.join(changed)}); "
                "resume with the settings it was started with, or start a new run in another directory."
            )
        self.model.load_state_dict(saved["model"])
        self.progress = _Progress.from_dict(saved["progress"])
        self.best_state = saved["best_state"]
        if self.progress.stopped_by == "time_budget" or self._more_patient():  # a resumed run may be given more
            self.progress.stopped_by = None
        torch.set_rng_state(saved["rng"])
        self.saved = saved
        logger.info(
            "Resuming at stage %d epoch %d, step %d", self.progress.stage, self.progress.epoch, self.progress.steps
        )

    def _more_patient(self) -> bool:
        """Whether a run that stopped early is resumed with the patience to wait for more evaluations."""
        patience = self.settings.patience
        stopped_early = self.progress.stopped_by == "early_stopping"
        return stopped_early and (patience is None or self.progress.evaluations_without_gain < patience)

    def run(self) -> TrainingHistory:
        progress, history = self.progress, self.progress.history
        while progress.stopped_by is None and progress.stage <= len(self.stages):
            stage = self.progress.stage
            weights, freeze_backbone = self.stages[stage - 1]
            loss_fn = JointExitLoss(
                weights,
                multi_label=self.model.config.multi_label,
                class_weights=self.class_weights,
                distill_weight=self.settings.distill_weight if weights[:-1].sum() > 0 else 0.0,
                temperature=self.settings.distill_temperature,
            )
            optimizer, scheduler = _optimizer(self.model, self.settings, self._batches_per_epoch(), freeze_backbone)
            augmentation = torch.Generator()
            if self.saved is not None and self.saved["optimizer_stage"] == stage:
                optimizer.load_state_dict(self.saved["optimizer"])
                scheduler.load_state_dict(self.saved["scheduler"])
                augmentation.set_state(self.saved["augmentation"])
            self.saved = None
            while progress.stopped_by is None and progress.stage == stage:
                progress.stopped_by = self._epoch(loss_fn, optimizer, scheduler, augmentation)
        history.stopped_by = progress.stopped_by or "epochs"
        return history

    def _batches_per_epoch(self) -> int:
        return math.ceil(len(self.train_split) / self.settings.batch_size)

    def _epoch(self, loss_fn, optimizer, scheduler, augmentation) -> str | None:
        """Steps to the end of the current epoch (or a stop), then one evaluation; returns why training stops."""
        settings, progress = self.settings, self.progress
        stage, epoch = progress.stage, progress.epoch
        batches = training_batches(
            self.train_split.lengths,
            settings.batch_size,
            seed=settings.seed + 1000 * stage + epoch,
            bucketed=settings.bucket_batches,
        )
        if progress.batch == 0:
            augmentation.manual_seed(settings.seed + 1000 * stage + epoch)
        bar = tqdm(
            total=len(batches),
            initial=progress.batch,
            desc=f"stage {stage} epoch {epoch}/{settings.epochs}",
            leave=False,
        )
        stop = None
        self.model.train()
        while progress.batch < len(batches):
            stop = self.budget.exhausted()
            if stop:
                break
            group = batches[progress.batch : progress.batch + settings.gradient_accumulation_steps]
            progress.losses.append(self._step(group, loss_fn, optimizer, scheduler, augmentation))
            progress.batch += len(group)
            progress.steps += 1
            bar.update(len(group))
            bar.set_postfix(loss=f"{np.mean(progress.losses[-20:]):.4f}")
            stop = self.budget.exhausted()
            if stop:
                break  # the evaluation below is the last one
            if settings.eval_every_steps and progress.steps % settings.eval_every_steps == 0:
                if progress.batch < len(batches):  # the epoch's end evaluates anyway
                    stop = self._evaluate(stage, epoch, optimizer, scheduler, augmentation)
                    self.model.train()
                    if stop:
                        break
            elif self._save_due():
                self._save(optimizer, scheduler, augmentation, stage)
        bar.close()
        if progress.batch >= len(batches):
            progress.batch, progress.epoch = 0, epoch + 1
            if progress.epoch > settings.epochs:
                progress.stage, progress.epoch = stage + 1, 1
        if stop == "early_stopping":
            return stop
        return self._evaluate(stage, epoch, optimizer, scheduler, augmentation, stopping=stop) or stop

    def _step(self, group, loss_fn, optimizer, scheduler, augmentation) -> float:
        """One optimizer step over the micro-batches in ``group``; returns their mean loss.

        Each micro-batch's loss is weighted by its share of the rows, so the gradient is the one
        of a single batch of all of them.
        """
        rows_in_step = sum(len(rows) for rows in group)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for rows in group:
            inputs = self.featurizer.collate([self.train_split.features[row] for row in rows])
            if self.settings.augment and isinstance(self.featurizer, ImageFeaturizer):
                inputs = self.featurizer.augment(inputs, augmentation)
            with forward_precision(self.precision):
                exit_logits = self.model(inputs, earlier_exit_gradient=self.settings.earlier_exit_gradient)
            loss = loss_fn(exit_logits.float(), self.train_split.labels[torch.as_tensor(rows)])
            (loss * (len(rows) / rows_in_step)).backward()
            total += loss.item() * len(rows)
        trainable = [parameter for parameter in self.model.parameters() if parameter.requires_grad]
        torch.nn.utils.clip_grad_norm_(trainable, self.settings.max_grad_norm)
        optimizer.step()
        scheduler.step()
        return total / rows_in_step

    def _evaluate(self, stage, epoch, optimizer, scheduler, augmentation, stopping=None) -> str | None:
        """Score every exit on dev with one all-exit pass, keep the best, count evaluations without gain, save."""
        progress, settings = self.progress, self.settings
        history = progress.history
        dev_metrics = dev_degenerate = None
        stop = None
        if self.dev_split is not None:
            dev_logits = collect_exit_logits(
                self.model, self.featurizer, self.dev_split, batch_size=settings.eval_batch_size
            )
            multi_label = self.model.config.multi_label
            dev_metrics = per_exit_metric(dev_logits, self.dev_split.labels, self.metric, multi_label)
            dev_predictions = predictions_from_logits(dev_logits, multi_label)
            dev_degenerate = list(
                per_exit_degeneracy(dev_predictions, self.dev_split.labels.numpy(), dev_metrics, self.metric)
            )
            last, mean = dev_metrics[-1], float(np.mean(dev_metrics))
            if progress.record_dev(settings, last, mean):
                self.best_state = _trainable_state(self.model)
                history.best_index = len(history.epochs)
            if settings.patience is not None and progress.evaluations_without_gain >= settings.patience:
                stop = "early_stopping"
        now = time.monotonic()
        train_loss = float(np.mean(progress.losses)) if progress.losses else float("nan")
        history.epochs.append(
            EpochRecord(
                stage, epoch, train_loss, dev_metrics, now - self.last_evaluation, dev_degenerate, progress.steps
            )
        )
        self.last_evaluation, progress.losses = now, []
        logger.info(
            "stage %d epoch %d/%d: train loss %.4f%s",
            stage,
            epoch,
            settings.epochs,
            train_loss,
            "" if dev_metrics is None else f", dev {self.metric_name} per exit (points) {_points(dev_metrics)}",
        )
        progress.stopped_by = stopping or stop
        self._save(optimizer, scheduler, augmentation, stage)
        progress.stopped_by = None  # the caller decides; the saved state records why it stopped
        return stop

    def _save_due(self) -> bool:
        return self.state_dir is not None and time.monotonic() - self.last_save >= 60 * self.settings.save_every_minutes

    def _save(self, optimizer, scheduler, augmentation, stage) -> None:
        if self.state_dir is None:
            return
        self.progress.seconds = self.budget.elapsed()
        state = {
            "settings": asdict(self.settings),
            "progress": self.progress.to_dict(),
            "model": self.model.state_dict(),
            "best_state": self.best_state,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "optimizer_stage": stage,
            "rng": torch.get_rng_state(),
            "augmentation": augmentation.get_state(),
        }
        history = self.progress.history
        summary = {
            "stage": self.progress.stage,
            "epoch": self.progress.epoch,
            "steps": self.progress.steps,
            "evaluations": len(history.epochs),
            "best_evaluation": history.best_index,
            "stopped_by": self.progress.stopped_by,
            "run": self.context,
        }
        save_training_state(self.state_dir, state, summary)
        self.last_save = time.monotonic()


def _points(metrics: list[float]) -> str:
    """Fractions as points with one decimal, the way every table shows them: ``45.1 47.2 50.3``."""
    return " ".join(f"{100 * value:.1f}" for value in metrics)


def _set_trainable(model: MultiExitModel, *, freeze_backbone: bool) -> None:
    """Heads always train; the backbone trains fully, or only its PEFT adapter, or not at all."""
    for parameter in model.heads.parameters():
        parameter.requires_grad_(True)
    for name, parameter in model.backbone.named_parameters():
        adapter_parameter = model.config.peft is not None and _is_adapter_parameter(name)
        parameter.requires_grad_(not freeze_backbone and (model.config.peft is None or adapter_parameter))


def _is_adapter_parameter(name: str) -> bool:
    return any(marker in name for marker in ("lora_", "ia3_", "trainable_tokens_delta"))


def _optimizer(model: MultiExitModel, settings: TrainingSettings, batches_per_epoch: int, freeze_backbone: bool):
    _set_trainable(model, freeze_backbone=freeze_backbone)
    backbone_parameters = [p for p in model.backbone.parameters() if p.requires_grad]
    groups = [{"params": list(model.heads.parameters()), "lr": settings.head_learning_rate}]
    if backbone_parameters:
        learning_rate = backbone_learning_rate(settings, uses_peft=model.config.peft is not None)
        groups.append({"params": backbone_parameters, "lr": learning_rate})
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    total_steps = settings.epochs * math.ceil(batches_per_epoch / settings.gradient_accumulation_steps)
    if settings.max_steps is not None:
        total_steps = min(total_steps, settings.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(settings.warmup_ratio * total_steps), total_steps)
    return optimizer, scheduler


def _trainable_state(model: MultiExitModel) -> dict[str, torch.Tensor]:
    trainable = {name for name, parameter in model.named_parameters() if parameter.requires_grad}
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items() if name in trainable}
