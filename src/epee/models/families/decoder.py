"""What the causal decoders (GPT-2, the Llama family) have in common.

A causal decoder's last real token is the only one that has seen the whole sequence, so it is
what exits pool. Each exit applies the family's final norm to it, as ``forward`` does after the
last layer, so a shallow exit reads features on the scale the last one is trained on.

Position ids are counted from the first real token (``position_ids_from_mask``) rather than from
column 0 as ``forward`` does by default; that makes left- and right-padded batches give the same
features. The same ids are handed to ``forward`` through :meth:`DecoderFamily.extra_inputs_for_forward`
so the two paths stay comparable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from epee.models.families.base import BackboneFamily, LayerState, last_token_index, position_ids_from_mask


def _last_token(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """``[batch, seq, hidden] -> [batch, hidden]``: each row's last real token."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, last_token_index(attention_mask)]


class DecoderFamily(BackboneFamily):
    """Base class of the causal decoders: last-token pooling after the final norm, positions from the mask."""

    pooling_modes = ("last",)
    default_pooling = "last"

    @property
    def final_norm(self) -> nn.Module:
        """The norm ``forward`` applies after the last layer (GPT-2's ``ln_f``, Llama's ``norm``)."""
        raise NotImplementedError

    def mask_and_positions(self, inputs: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``[batch, seq]`` attention mask (all ones when none was given) and the position ids it implies."""
        attention_mask = inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(inputs["input_ids"])
        return attention_mask, position_ids_from_mask(attention_mask)

    def pool(self, state: LayerState) -> torch.Tensor:
        return self.final_norm(_last_token(state.hidden, state.attention_mask))

    def pool_forward_output(self, last_hidden_state: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """``forward`` applied the final norm already; without a mask every row ends in the last column."""
        if attention_mask is None:
            return last_hidden_state[:, -1]
        return _last_token(last_hidden_state, attention_mask)

    def output_hidden(self, state: LayerState) -> torch.Tensor:
        return self.final_norm(state.hidden)

    def extra_inputs_for_forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        attention_mask = inputs.get("attention_mask")
        return {} if attention_mask is None else {"position_ids": position_ids_from_mask(attention_mask)}
