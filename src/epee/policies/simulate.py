"""Offline simulation of a policy over cached per-exit logits, through the runtime's own code path.

:func:`simulate` streams the exits exactly as the runtime does: ``start``, then for each exit
:func:`~epee.policies.base.step_with_fallback` on the rows still running, then ``select`` to drop
the finished ones. Offline results and dynamic inference therefore agree by construction.
:func:`fast_exit_index` gives the same exits from a policy's table rule when it has one: the fast
path of calibration.
"""

from __future__ import annotations

import torch

from epee.errors import EpeeError
from epee.policies.base import ExitPolicy, step_with_fallback
from epee.policies.exit_result import ExitResult
from epee.policies.tables import ExitTables


def check_layer_logits(layer_logits: torch.Tensor) -> None:
    """Cached logits must be ``[exits, batch, classes]`` with at least one exit."""
    if layer_logits.dim() != 3 or layer_logits.shape[0] == 0:
        raise EpeeError(
            f"Cached logits must have shape [exits, batch, classes] with at least one exit; "
            f"got {tuple(layer_logits.shape)}."
        )


def simulate(policy: ExitPolicy, layer_logits: torch.Tensor, *, multi_label: bool) -> ExitResult:
    """Run ``policy`` over cached logits ``[exits, batch, classes]``; every sample exits by the last exit."""
    check_layer_logits(layer_logits)
    if not policy.deployable:
        raise EpeeError(
            f"The {policy.name} policy is an analysis bound that needs every exit at once; "
            "use epee.policies.oracle_exits instead of simulate."
        )
    num_exits, batch_size, _ = layer_logits.shape
    device = layer_logits.device
    exit_index = torch.full((batch_size,), num_exits - 1, dtype=torch.long, device=device)
    exit_logits = layer_logits[-1].clone()  # [batch, classes]
    running = torch.arange(batch_size, device=device)  # original row of each running sample
    state = policy.start(batch_size, multi_label=multi_label, device=device)
    for index in range(num_exits):
        if running.numel() == 0:
            break
        logits = layer_logits[index, running]  # [running, classes]
        exits_now = step_with_fallback(policy, state, index, num_exits, logits)
        finished = running[exits_now]
        exit_index[finished] = index
        exit_logits[finished] = logits[exits_now]
        still_running = ~exits_now
        running = running[still_running]
        state = state.select(still_running)
    return ExitResult(exit_index=exit_index, logits=exit_logits)


def fast_exit_index(policy: ExitPolicy, tables: ExitTables) -> torch.Tensor:
    """Exit index of every sample ``[batch]``, equal to ``simulate(policy, ...).exit_index``.

    From the policy's :meth:`~epee.policies.base.ExitPolicy.fire_table` when it has one (the
    earliest exit that fires, else the last), by stepping it otherwise.
    """
    fires = policy.fire_table(tables)
    if fires is None:
        return simulate(policy, tables.layer_logits, multi_label=tables.multi_label).exit_index
    fires = fires.clone()  # [exits, batch]
    fires[-1] = True  # the fallback of step_with_fallback
    return fires.byte().argmax(dim=0)  # argmax returns the first maximum: the earliest exit that fires
