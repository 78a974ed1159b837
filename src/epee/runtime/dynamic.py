"""The early-exit loop, as in the papers: embed; for each exit run its segment (the layers since the
previous exit, then the exit head), let the policy decide, drop the finished rows.

Rows that exit stop costing anything: their hidden states, masks and per-row layer inputs
(position bias, rotary tables) are removed from the batch before the next layer runs.

The loop is written once, one layer at a time (:class:`LayerLoop`), so that rows can also join it
at a layer boundary: ``epee serve --schedule layer`` admits new requests' rows while earlier ones
are mid-depth. :func:`early_exit_forward` is the plain case, one batch admitted once. Another engine
(ONNX Runtime, :mod:`epee.runtime.engine`) computes a whole segment per call — the layers since the
previous exit and that exit's head — and runs through :func:`segment_forward`: the same policies,
the same fallback and the same dropping of finished rows between segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.families.base import LayerState
from epee.policies.base import ExitPolicy, PolicyState, step_with_fallback
from epee.policies.exit_result import ExitResult
from epee.runtime.engine import Engine


@dataclass
class Exited:
    """Rows that left at one exit: the ids they were admitted with, their logits there, the exit's index."""

    row_ids: torch.Tensor  # [rows] long
    logits: torch.Tensor  # [rows, labels]
    exit_index: int


@dataclass
class _Cohort:
    """Rows that run the same layer next, with their policy memory and the ids they were admitted with."""

    state: LayerState
    policy_state: PolicyState
    row_ids: torch.Tensor


class LayerLoop:
    """The early-exit loop over rows at any depth; each :meth:`step` runs one layer for the rows at one depth.

    Admitted rows start at layer 0 with a fresh policy state, so a row meets exactly the layers,
    exits and decisions it meets in a batch of its own; only the rows beside it change. Rows that
    reach a layer where others wait join them (the family pads both to one length). The shallowest
    rows run first, so newcomers catch up with the rows ahead and the batch fills again as rows exit;
    a caller that admits rows only while fewer than its batch size are running therefore lets the
    deepest rows advance at least one layer per catch-up.
    """

    def __init__(self, model: MultiExitModel, policy: ExitPolicy) -> None:
        self.model = model
        self.policy = policy
        self._cohorts: dict[int, _Cohort] = {}  # by the 0-based layer the rows run next

    @property
    def active_rows(self) -> int:
        return sum(len(cohort.row_ids) for cohort in self._cohorts.values())

    @property
    def next_rows(self) -> int:
        """Rows the next :meth:`step` runs."""
        return len(self._cohorts[min(self._cohorts)].row_ids) if self._cohorts else 0

    @torch.inference_mode()
    def admit(self, inputs: Mapping[str, torch.Tensor], row_ids: torch.Tensor) -> None:
        """Embed new rows, known from now on by ``row_ids``; they run layer 0 at a coming step."""
        state = self.model.family.embed(inputs)
        if len(row_ids) != state.batch_size:
            raise EpeeError(f"{len(row_ids)} row ids were given for {state.batch_size} rows.")
        policy_state = self.policy.start(
            state.batch_size, multi_label=self.model.config.multi_label, device=state.hidden.device
        )
        self._join(0, _Cohort(state, policy_state, row_ids.to(state.hidden.device)))

    @torch.inference_mode()
    def step(self) -> Exited | None:
        """Run the shallowest rows' next layer; the rows that exit there, or None when none does."""
        model, family = self.model, self.model.family
        layer_index = min(self._cohorts)
        cohort = self._cohorts.pop(layer_index)
        state = family.run_layer(layer_index, cohort.state)
        if layer_index not in model.exit_index_at_layer:
            self._join(layer_index + 1, _Cohort(state, cohort.policy_state, cohort.row_ids))
            return None
        exit_index = model.exit_index_at_layer[layer_index]
        logits = model.heads(exit_index, family.pool(state))  # [rows, labels]
        leaving = step_with_fallback(self.policy, cohort.policy_state, exit_index, len(model.exit_layers), logits)
        if not leaving.any():
            self._join(layer_index + 1, _Cohort(state, cohort.policy_state, cohort.row_ids))
            return None
        staying = ~leaving
        if staying.any():
            self._join(
                layer_index + 1,
                _Cohort(state.select(staying), cohort.policy_state.select(staying), cohort.row_ids[staying]),
            )
        return Exited(cohort.row_ids[leaving], logits[leaving], exit_index)

    def _join(self, layer_index: int, cohort: _Cohort) -> None:
        waiting = self._cohorts.get(layer_index)
        if waiting is not None:
            cohort = _Cohort(
                self.model.family.concat_states([waiting.state, cohort.state]),
                PolicyState.concat([waiting.policy_state, cohort.policy_state]),
                torch.cat([waiting.row_ids, cohort.row_ids]),
            )
        self._cohorts[layer_index] = cohort


@torch.inference_mode()
def early_exit_forward(
    model: MultiExitModel | Engine, inputs: Mapping[str, torch.Tensor], policy: ExitPolicy
) -> ExitResult:
    """Run one batch with early exits under ``policy`` (falling back to the last exit)."""
    if not isinstance(model, MultiExitModel):
        return segment_forward(model, inputs, policy)
    loop = LayerLoop(model, policy)
    first = next(iter(inputs.values()))
    batch_size, device = first.shape[0], first.device
    loop.admit(inputs, torch.arange(batch_size, device=device))
    logits_out = torch.empty(batch_size, model.config.num_labels, device=device)
    exit_index_out = torch.empty(batch_size, dtype=torch.long, device=device)
    while loop.active_rows:
        exited = loop.step()
        if exited is not None:
            logits_out[exited.row_ids] = exited.logits.to(logits_out.dtype)
            exit_index_out[exited.row_ids] = exited.exit_index
    return ExitResult(exit_index=exit_index_out, logits=logits_out)


@torch.inference_mode()
def segment_forward(engine: Engine, inputs: Mapping[str, torch.Tensor], policy: ExitPolicy) -> ExitResult:
    """One batch through ``engine`` a segment at a time: after each exit's logits the policy decides, and the
    rows that leave are dropped before the next segment runs."""
    num_exits = len(engine.exit_layers)
    state = engine.embed(inputs)
    batch_size = state.batch_size
    device = next(iter(inputs.values())).device
    policy_state = policy.start(batch_size, multi_label=engine.multi_label, device=device)
    logits_out = torch.empty(batch_size, engine.num_labels, device=device)
    exit_index_out = torch.empty(batch_size, dtype=torch.long, device=device)
    active_rows = torch.arange(batch_size, device=device)  # original positions of the rows still running

    for exit_index in range(num_exits):
        state, logits = engine.segment(exit_index, state)  # logits: [active, labels]
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
