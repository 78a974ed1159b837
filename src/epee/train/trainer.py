"""The training loop: joint loss over exits, optional two stages, dev evaluation each epoch, best kept."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup, set_seed

from epee.models import MultiExitModel
from epee.runtime.exit_logits import collect_exit_logits, per_exit_metric, predictions_from_logits
from epee.tasks.degeneracy import per_exit_degeneracy
from epee.tasks.encoding import EncodedSplit, batch_indices
from epee.tasks.image_encoding import ImageFeaturizer
from epee.tasks.metrics import Metric
from epee.train.losses import JointExitLoss, balanced_class_weights, depth_weights
from epee.train.settings import FINE_TUNING_EPOCHS, TrainingSettings, backbone_learning_rate

logger = logging.getLogger(__name__)


@dataclass
class EpochRecord:
    stage: int
    epoch: int
    train_loss: float
    dev_exit_metrics: list[float] | None
    seconds: float
    dev_exit_degenerate: list[str | None] | None = None  # why each exit is degenerate on dev (epee.tasks.degeneracy)


STOP_REASONS = ("epochs", "max_steps", "time_budget")
"""Why training ended: every epoch ran, the step budget, or the time budget."""


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


class _Budget:
    """Stops training at a step count or a wall-clock budget, whichever comes first."""

    def __init__(self, settings: TrainingSettings):
        self.max_steps = settings.max_steps
        self.deadline = None
        if settings.time_budget_minutes is not None:
            self.deadline = time.monotonic() + 60 * settings.time_budget_minutes
        self.steps = 0

    def exhausted(self) -> str | None:
        """The budget that ran out (``max_steps`` or ``time_budget``), or None."""
        if self.max_steps is not None and self.steps >= self.max_steps:
            return "max_steps"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "time_budget"
        return None


def train(
    model: MultiExitModel,
    featurizer,
    train_split: EncodedSplit,
    dev_split: EncodedSplit | None,
    settings: TrainingSettings,
    metric: Metric,
    metric_name: str = "metric",
) -> TrainingHistory:
    """Train ``model`` in place and leave it with the best dev epoch's weights.

    Stage 1 (only when ``two_stage``) trains the backbone and the last exit; the final stage
    trains every exit with the joint loss — with the backbone frozen after a first stage.
    """
    if settings.epochs is None:
        settings = replace(settings, epochs=FINE_TUNING_EPOCHS)
    set_seed(settings.seed)
    multi_label = model.config.multi_label
    num_exits = len(model.exit_layers)
    class_weights = None
    if settings.class_weighting == "balanced":
        class_weights = balanced_class_weights(train_split.labels, model.config.num_labels, multi_label)
    joint_weights = depth_weights(settings.depth_weights, num_exits)
    last_only = torch.zeros(num_exits)
    last_only[-1] = 1.0
    stages = [(last_only, False), (joint_weights, True)] if settings.two_stage else [(joint_weights, False)]

    history = TrainingHistory()
    budget = _Budget(settings)
    best_score, best_state = -math.inf, None
    started = time.monotonic()
    for stage_number, (weights, freeze_backbone) in enumerate(stages, start=1):
        loss_fn = JointExitLoss(
            weights,
            multi_label=multi_label,
            class_weights=class_weights,
            distill_weight=settings.distill_weight if weights[:-1].sum() > 0 else 0.0,
            temperature=settings.distill_temperature,
        )
        optimizer, scheduler = _optimizer(model, settings, len(train_split), freeze_backbone)
        for epoch in range(1, settings.epochs + 1):
            epoch_start = time.monotonic()
            train_loss = _train_epoch(
                model,
                featurizer,
                train_split,
                settings,
                loss_fn,
                optimizer,
                scheduler,
                budget,
                seed=settings.seed + 1000 * stage_number + epoch,
                description=f"stage {stage_number} epoch {epoch}/{settings.epochs}",
            )
            dev_metrics = dev_degenerate = None
            if dev_split is not None:
                dev_logits = collect_exit_logits(model, featurizer, dev_split, batch_size=settings.eval_batch_size)
                dev_metrics = per_exit_metric(dev_logits, dev_split.labels, metric, multi_label)
                dev_predictions = predictions_from_logits(dev_logits, multi_label)
                dev_degenerate = list(
                    per_exit_degeneracy(dev_predictions, dev_split.labels.numpy(), dev_metrics, metric)
                )
                score = dev_metrics[-1] if settings.select_by == "last" else float(np.mean(dev_metrics))
                if score > best_score:
                    best_score, best_state = score, _trainable_state(model)
                    history.best_index = len(history.epochs)
            history.epochs.append(
                EpochRecord(
                    stage_number, epoch, train_loss, dev_metrics, time.monotonic() - epoch_start, dev_degenerate
                )
            )
            logger.info(
                "stage %d epoch %d/%d: train loss %.4f%s",
                stage_number,
                epoch,
                settings.epochs,
                train_loss,
                "" if dev_metrics is None else f", dev {metric_name} per exit (points) {_points(dev_metrics)}",
            )
            stopped_by = budget.exhausted()
            if stopped_by:
                history.stopped_by = stopped_by
                break
        if history.stopped_by != "epochs":
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    _set_trainable(model, freeze_backbone=False)  # undo stage-2 freezing
    history.steps, history.seconds = budget.steps, time.monotonic() - started
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


def _optimizer(model: MultiExitModel, settings: TrainingSettings, train_size: int, freeze_backbone: bool):
    _set_trainable(model, freeze_backbone=freeze_backbone)
    backbone_parameters = [p for p in model.backbone.parameters() if p.requires_grad]
    groups = [{"params": list(model.heads.parameters()), "lr": settings.head_learning_rate}]
    if backbone_parameters:
        learning_rate = backbone_learning_rate(settings, uses_peft=model.config.peft is not None)
        groups.append({"params": backbone_parameters, "lr": learning_rate})
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    total_steps = settings.epochs * math.ceil(train_size / settings.batch_size)
    if settings.max_steps is not None:
        total_steps = min(total_steps, settings.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(settings.warmup_ratio * total_steps), total_steps)
    return optimizer, scheduler


def _train_epoch(
    model, featurizer, split, settings, loss_fn, optimizer, scheduler, budget, *, seed, description
) -> float:
    model.train()
    losses = []
    batches = list(batch_indices(len(split), settings.batch_size, shuffle_seed=seed))
    augmentation = torch.Generator().manual_seed(seed)
    progress = tqdm(batches, desc=description, leave=False)
    for rows in progress:
        inputs = featurizer.collate([split.features[row] for row in rows])
        if settings.augment and isinstance(featurizer, ImageFeaturizer):
            inputs = featurizer.augment(inputs, augmentation)
        loss = loss_fn(model(inputs), split.labels[torch.as_tensor(rows)])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], settings.max_grad_norm)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        progress.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        budget.steps += 1
        if budget.exhausted():
            break
    model.eval()
    return float(np.mean(losses)) if losses else float("nan")


def _trainable_state(model: MultiExitModel) -> dict[str, torch.Tensor]:
    trainable = {name for name, parameter in model.named_parameters() if parameter.requires_grad}
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items() if name in trainable}
