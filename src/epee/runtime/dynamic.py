"""The early-exit layer loop, as in the papers: embed; for each layer run it, score the exit,
let the policy decide, drop the finished rows.

Rows that exit stop costing anything: their hidden states, masks and per-row layer inputs
(position bias, rotary tables) are removed from the batch before the next layer runs.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from epee.models import MultiExitModel
from epee.policies.base import ExitPolicy, step_with_fallback
from epee.policies.exit_result import ExitResult


@torch.inference_mode()
def early_exit_forward(model: MultiExitModel, inputs: Mapping[str, torch.Tensor], policy: ExitPolicy) -> ExitResult:
    """Run one batch with early exits under ``policy`` (falling back to the last exit)."""
    family, heads = model.family, model.heads
    num_exits = len(model.exit_layers)

    state = family.embed(inputs)
    batch_size = state.batch_size
    device = state.hidden.device
    policy_state = policy.start(batch_size, multi_label=model.config.multi_label, device=device)
    logits_out = torch.empty(batch_size, model.config.num_labels, device=device)
    exit_index_out = torch.empty(batch_size, dtype=torch.long, device=device)
    active_rows = torch.arange(batch_size, device=device)  # original positions of the rows still running

    for layer_index in range(family.num_layers):
        state = family.run_layer(layer_index, state)
        if layer_index not in model.exit_index_at_layer:
            continue
        exit_index = model.exit_index_at_layer[layer_index]
        logits = heads(exit_index, family.pool(state))  # [active, labels]
        leaving = step_with_fallback(policy, policy_state, exit_index, num_exits, logits)
        if not leaving.any():
            continue
        finished = active_rows[leaving]
        logits_out[finished] = logits[leaving].to(logits_out.dtype)
        exit_index_out[finished] = exit_index
        staying = ~leaving
        if not staying.any():
            break
        active_rows = active_rows[staying]
        state = state.select(staying)
        policy_state = policy_state.select(staying)

    return ExitResult(exit_index=exit_index_out, logits=logits_out)
