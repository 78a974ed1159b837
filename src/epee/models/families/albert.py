"""ALBERT: few layer groups whose weights are reused across the depth of the network.

``embeddings`` (of ``embedding_size``) -> ``encoder.embedding_hidden_mapping_in`` -> layer ``i``
is the layer group ``AlbertTransformer.forward`` picks for step ``i``. With the usual single
group, every exit sits after another pass through the same shared weights.
"""

from __future__ import annotations

import torch
from torch import nn

from epee.models.families.base import LayerState, PerRowValue
from epee.models.families.encoder import EncoderFamily


class AlbertFamily(EncoderFamily):
    display_name = "ALBERT"
    model_types = ("albert",)
    lora_target_modules = ("query", "key", "value")
    has_pretrained_pooler = True

    def initial_state(
        self, embedded: torch.Tensor, attention_mask: torch.Tensor, layer_inputs: dict[str, PerRowValue]
    ) -> LayerState:
        """Project the small embeddings up to ``hidden_size``, as the encoder does before its first layer."""
        hidden = self.backbone.encoder.embedding_hidden_mapping_in(embedded)
        return LayerState(hidden=hidden, attention_mask=attention_mask, layer_inputs=layer_inputs)

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        config = self.backbone.config
        # The same group index AlbertTransformer.forward computes for step ``index``.
        group_index = int(index / (config.num_hidden_layers / config.num_hidden_groups))
        group = self.backbone.encoder.albert_layer_groups[group_index]
        hidden = group(state.hidden, state.layer_inputs["attention_mask"])
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)

    def pooler_dense(self) -> nn.Linear | None:
        """ALBERT's pooler is the dense layer itself (its tanh is applied outside it)."""
        return self.backbone.pooler
