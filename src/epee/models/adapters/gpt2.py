"""GPT-2: a causal decoder, so the sequence is summarised by its last real token.

Position ids are counted from the first real token (``position_ids_from_mask``) rather than
from column 0 as ``GPT2Model.forward`` does by default; that makes left- and right-padded
batches give the same features. The same ids are handed to ``forward`` in the equivalence tests
through :meth:`GPT2Adapter.extra_inputs_for_forward`. Exits see ``ln_f`` applied, as the final
layer does, so a shallow exit reads features on the scale the last one is trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from transformers.masking_utils import create_causal_mask

from epee.models.adapters.base import BackboneAdapter, LayerState, last_token_index, position_ids_from_mask


def _last_token(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """``[batch, seq, hidden] -> [batch, hidden]``: each row's last real token."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, last_token_index(attention_mask)]


class GPT2Adapter(BackboneAdapter):
    family = "GPT-2"
    model_types = ("gpt2",)
    lora_target_modules = ("c_attn",)  # a transformers Conv1D; peft switches on fan_in_fan_out for it
    pooling_modes = ("last",)
    default_pooling = "last"

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask = inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        position_ids = position_ids_from_mask(attention_mask)
        inputs_embeds = self.backbone.wte(input_ids)
        hidden = self.backbone.drop(inputs_embeds + self.backbone.wpe(position_ids))
        causal_mask = create_causal_mask(
            config=self.backbone.config,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            past_key_values=None,
            position_ids=position_ids,
        )
        return LayerState(
            hidden=hidden,
            attention_mask=attention_mask,
            layer_inputs={"attention_mask": causal_mask, "position_ids": position_ids},
        )

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        block = self.backbone.h[index]
        hidden = block(
            state.hidden,
            attention_mask=state.layer_inputs["attention_mask"],
            position_ids=state.layer_inputs["position_ids"],
        )
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)

    def pool(self, state: LayerState) -> torch.Tensor:
        return self.backbone.ln_f(_last_token(state.hidden, state.attention_mask))

    def pool_forward_output(self, last_hidden_state: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if attention_mask is None:
            return last_hidden_state[:, -1]
        return _last_token(last_hidden_state, attention_mask)

    def output_hidden(self, state: LayerState) -> torch.Tensor:
        return self.backbone.ln_f(state.hidden)

    def extra_inputs_for_forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        attention_mask = inputs.get("attention_mask")
        return {} if attention_mask is None else {"position_ids": position_ids_from_mask(attention_mask)}
