"""GPT-2: learned absolute positions (``wpe``) added to ``wte``, one causal mask, final norm ``ln_f``.

Pooling, the final norm and position ids from the mask come from :class:`DecoderFamily`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from transformers.masking_utils import create_causal_mask

from epee.models.families.base import LayerState
from epee.models.families.decoder import DecoderFamily


class GPT2Family(DecoderFamily):
    display_name = "GPT-2"
    model_types = ("gpt2",)
    lora_target_modules = ("c_attn",)  # a transformers Conv1D; peft switches on fan_in_fan_out for it

    @property
    def final_norm(self) -> nn.Module:
        return self.backbone.ln_f

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask, position_ids = self.mask_and_positions(inputs)
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
