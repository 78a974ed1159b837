"""The joint multi-exit loss: depth-weighted task losses plus optional self-distillation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from epee.errors import EpeeError


def depth_weights(spec: str | Sequence[float], num_exits: int) -> torch.Tensor:
    """Per-exit loss weights summing to 1.

    ``"asc"``: w_i = i / sum_j j for exits i = 1..n (PABEE, Zhou et al. 2020, eq. 6; EPEE).
    ``"asc_last_half"``: half on the last exit, ``"asc"`` over the others with the other half. Under full
    fine-tuning ``"asc"`` leaves the last exit ~6 dev points below a plain fine-tune on ChemProt, as the shallow
    exits' gradient reshapes the whole backbone; this weighting closes most of that (see BENCHMARKS.md, ablation).
    """
    if spec == "asc":
        weights = torch.arange(1, num_exits + 1, dtype=torch.float32)
    elif spec == "asc_last_half":
        earlier = torch.arange(1, num_exits, dtype=torch.float32)
        weights = torch.cat([earlier / earlier.sum(), torch.ones(1)]) if num_exits > 1 else torch.ones(1)
    elif spec == "uniform":
        weights = torch.ones(num_exits)
    else:
        if len(spec) != num_exits:
            raise EpeeError(f"Got {len(spec)} depth weights for a model with {num_exits} exits.")
        weights = torch.tensor(list(spec), dtype=torch.float32)
    if weights.sum() <= 0:
        raise EpeeError("Depth weights must not all be zero.")
    return weights / weights.sum()


def balanced_class_weights(targets: torch.Tensor, num_labels: int, multi_label: bool) -> torch.Tensor:
    """Single-label: n / (C * count_c) per class (scikit-learn's "balanced");
    multi-label: the positive weight negatives / positives per label, as BCE's ``pos_weight``."""
    if multi_label:
        positives = targets.sum(0)
        return ((len(targets) - positives) / positives.clamp(min=1.0)).clamp(max=100.0)
    counts = torch.bincount(targets, minlength=num_labels).float()
    return len(targets) / (num_labels * counts.clamp(min=1.0))


class JointExitLoss:
    """sum_i w_i * task_loss(exit_i) + distill_weight * sum_{i<n} w_i * T^2 * KL(teacher || exit_i).

    The teacher is the last exit, detached, softened by temperature T (Hinton et al. 2015).
    """

    def __init__(
        self,
        weights: torch.Tensor,
        *,
        multi_label: bool,
        class_weights: torch.Tensor | None = None,
        distill_weight: float = 0.0,
        temperature: float = 2.0,
    ):
        self.weights = weights
        self.multi_label = multi_label
        self.class_weights = class_weights
        self.distill_weight = distill_weight
        self.temperature = temperature

    def __call__(self, exit_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``exit_logits`` [exits, batch, labels]; ``targets`` [batch] ids or [batch, labels] 0/1."""
        num_exits, batch, num_labels = exit_logits.shape
        flat = exit_logits.reshape(num_exits * batch, num_labels)
        if self.multi_label:
            repeated = targets.repeat(num_exits, 1)
            per_item = F.binary_cross_entropy_with_logits(
                flat, repeated, pos_weight=self.class_weights, reduction="none"
            )
            per_exit = per_item.mean(dim=1).reshape(num_exits, batch).mean(dim=1)
        else:
            per_item = F.cross_entropy(flat, targets.repeat(num_exits), weight=self.class_weights, reduction="none")
            per_exit = per_item.reshape(num_exits, batch).mean(dim=1)
        loss = (self.weights.to(per_exit) * per_exit).sum()
        if self.distill_weight > 0 and num_exits > 1:
            loss = loss + self.distill_weight * self._distillation(exit_logits)
        return loss

    def _distillation(self, exit_logits: torch.Tensor) -> torch.Tensor:
        temperature = self.temperature
        teacher = exit_logits[-1].detach() / temperature  # [batch, labels]
        students = exit_logits[:-1] / temperature  # [exits-1, batch, labels]
        if self.multi_label:
            soft = torch.sigmoid(teacher).expand_as(students)
            per_exit = F.binary_cross_entropy_with_logits(students, soft, reduction="none").mean(dim=(1, 2))
        else:
            teacher_log = F.log_softmax(teacher, dim=-1).expand_as(students)
            per_exit = F.kl_div(F.log_softmax(students, dim=-1), teacher_log, log_target=True, reduction="none")
            per_exit = per_exit.sum(-1).mean(-1)
        weights = self.weights[:-1].to(per_exit)
        return temperature**2 * (weights * per_exit).sum() / weights.sum().clamp(min=1e-12)
