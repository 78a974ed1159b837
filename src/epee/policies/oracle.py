"""Oracle: the earliest exit that already gives the right answer. An upper bound, never deployable.

"Right" means equal to the final exit's prediction (``reference="final"``: the speed-up available
without changing any prediction) or equal to the gold label (``reference="gold"``; a sample no
exit gets right uses the last exit). It needs every exit's logits at once, so it has no
``step``: use :func:`oracle_exits` on cached logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from epee.errors import EpeeError
from epee.policies.base import ExitPolicy, PolicyState
from epee.policies.exit_result import ExitResult
from epee.policies.params import Choice, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.scores import predictions, same_prediction
from epee.policies.simulate import check_layer_logits

ORACLE_REFERENCES = ("final", "gold")


@dataclass(frozen=True)
class OracleParams(PolicyParams):
    """``reference``: what the earliest exit must match, ``"final"`` (last exit's prediction) or ``"gold"``."""

    reference: str = parameter(Choice(ORACLE_REFERENCES), default="final")


def oracle_exits(layer_logits: torch.Tensor, *, multi_label: bool, labels: torch.Tensor | None = None) -> ExitResult:
    """Earliest exit per sample whose prediction equals the final exit's, or the gold ``labels`` when given.

    ``layer_logits`` is ``[exits, batch, classes]``; ``labels`` is ``[batch]`` class ids, or
    ``[batch, labels]`` 0/1 for multi-label. Samples that never match fall back to the last exit.
    """
    check_layer_logits(layer_logits)
    num_exits, batch_size, _ = layer_logits.shape
    per_exit = predictions(layer_logits.flatten(0, 1), multi_label)
    per_exit = per_exit.view(num_exits, batch_size, *per_exit.shape[1:])  # [exits, batch(, labels)]
    reference = per_exit[-1] if labels is None else torch.as_tensor(labels, device=layer_logits.device).long()
    if reference.shape != per_exit.shape[1:]:
        raise EpeeError(f"Oracle labels must have shape {tuple(per_exit.shape[1:])}; got {tuple(reference.shape)}.")
    matches = torch.stack([same_prediction(per_exit[index], reference, multi_label) for index in range(num_exits)])
    matches[-1] = True  # [exits, batch]; the fallback
    exit_index = matches.byte().argmax(dim=0)  # first matching exit: argmax returns the first maximum
    rows = torch.arange(batch_size, device=layer_logits.device)
    return ExitResult(exit_index=exit_index, logits=layer_logits[exit_index, rows])


@register_policy
class OraclePolicy(ExitPolicy):
    name = "oracle"
    params_type = OracleParams
    deployable = False

    def start(self, batch_size: int, *, multi_label: bool, device: torch.device | None = None) -> PolicyState:
        raise EpeeError("The oracle policy is an analysis upper bound and cannot run online; use oracle_exits().")

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        raise EpeeError("The oracle policy is an analysis upper bound and cannot run online; use oracle_exits().")
