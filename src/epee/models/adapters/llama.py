"""Llama-family decoders (Llama, Mistral, Qwen2): rotary positions, RMSNorm, last-token pooling.

The three share ``embed_tokens`` -> ``layers[i](hidden, mask, position_embeddings)`` -> ``norm``
and differ only in which causal mask each layer gets: full (Llama), sliding-window on every
layer when ``sliding_window`` is set (Mistral), or per layer from ``config.layer_types``
(Qwen2). The masks and the rotary ``(cos, sin)`` are built once in :meth:`embed`, per row, so
selecting rows keeps them aligned. Position ids count real tokens only, so left and right
padding give the same features (see ``position_ids_from_mask``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from transformers import PreTrainedModel
from transformers.masking_utils import create_causal_mask, create_sliding_window_causal_mask

from epee.models.adapters.base import BackboneAdapter, LayerState, last_token_index, position_ids_from_mask

_MASK_BUILDERS = {"full_attention": create_causal_mask, "sliding_attention": create_sliding_window_causal_mask}


def _layer_types(config) -> tuple[str, ...]:
    """The attention type of each layer, decided as the family's ``forward`` decides it."""
    if getattr(config, "layer_types", None) is not None:
        return tuple(config.layer_types[: config.num_hidden_layers])
    sliding = getattr(config, "sliding_window", None) is not None
    return ("sliding_attention" if sliding else "full_attention",) * config.num_hidden_layers


def _last_token(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """``[batch, seq, hidden] -> [batch, hidden]``: each row's last real token."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, last_token_index(attention_mask)]


class LlamaLikeAdapter(BackboneAdapter):
    family = "Llama"
    model_types = ("llama", "mistral", "qwen2")
    lora_target_modules = ("q_proj", "k_proj", "v_proj", "o_proj")
    pooling_modes = ("last",)
    default_pooling = "last"

    def __init__(self, backbone: PreTrainedModel, pooling: str | None = None):
        super().__init__(backbone, pooling=pooling)
        self.layer_types = _layer_types(backbone.config)

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask = inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        position_ids = position_ids_from_mask(attention_mask)
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

    def pool(self, state: LayerState) -> torch.Tensor:
        return self.backbone.norm(_last_token(state.hidden, state.attention_mask))

    def pool_forward_output(self, last_hidden_state: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if attention_mask is None:
            return last_hidden_state[:, -1]
        return _last_token(last_hidden_state, attention_mask)

    def output_hidden(self, state: LayerState) -> torch.Tensor:
        return self.backbone.norm(state.hidden)

    def extra_inputs_for_forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        attention_mask = inputs.get("attention_mask")
        return {} if attention_mask is None else {"position_ids": position_ids_from_mask(attention_mask)}
