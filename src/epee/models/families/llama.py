"""Llama-family decoders (Llama, Mistral, Qwen2): rotary positions, RMSNorm, last-token pooling.

The three share ``embed_tokens`` -> ``layers[i](hidden, mask, position_embeddings)`` -> ``norm``
and differ only in which causal mask each layer gets: full (Llama), sliding-window on every
layer when ``sliding_window`` is set (Mistral), or per layer from ``config.layer_types``
(Qwen2). The masks and the rotary ``(cos, sin)`` are built once in :meth:`embed`, per row, so
selecting rows keeps them aligned. Pooling after ``norm`` and position ids that count real
tokens only come from :class:`DecoderFamily`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.masking_utils import create_causal_mask, create_sliding_window_causal_mask

from epee.models.families.base import LayerState
from epee.models.families.decoder import DecoderFamily

_MASK_BUILDERS = {"full_attention": create_causal_mask, "sliding_attention": create_sliding_window_causal_mask}


def _layer_types(config) -> tuple[str, ...]:
    """The attention type of each layer, decided as the family's ``forward`` decides it."""
    if getattr(config, "layer_types", None) is not None:
        return tuple(config.layer_types[: config.num_hidden_layers])
    sliding = getattr(config, "sliding_window", None) is not None
    return ("sliding_attention" if sliding else "full_attention",) * config.num_hidden_layers


class LlamaLikeFamily(DecoderFamily):
    display_name = "Llama"
    model_types = ("llama", "mistral", "qwen2")
    lora_target_modules = ("q_proj", "k_proj", "v_proj", "o_proj")

    def __init__(self, backbone: PreTrainedModel, pooling: str | None = None):
        super().__init__(backbone, pooling=pooling)
        self.layer_types = _layer_types(backbone.config)

    @property
    def final_norm(self) -> nn.Module:
        return self.backbone.norm

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask, position_ids = self.mask_and_positions(inputs)
        hidden = self.backbone.embed_tokens(input_ids)
        layer_inputs = {
            f"{layer_type}_mask": _MASK_BUILDERS[layer_type](
                config=self.backbone.config,
                inputs_embeds=hidden,
                attention_mask=attention_mask,
                past_key_values=None,
                position_ids=position_ids,
            )
            for layer_type in set(self.layer_types)
        }
        layer_inputs["position_ids"] = position_ids
        layer_inputs["position_embeddings"] = self.backbone.rotary_emb(hidden, position_ids)  # cos, sin
        return LayerState(hidden=hidden, attention_mask=attention_mask, layer_inputs=layer_inputs)

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        layer = self.backbone.layers[index]
        hidden = layer(
            state.hidden,
            attention_mask=state.layer_inputs[f"{self.layer_types[index]}_mask"],
            position_ids=state.layer_inputs["position_ids"],
            position_embeddings=state.layer_inputs["position_embeddings"],
        )
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)
