"""ALBERT: few layer groups whose weights are reused across the depth of the network.

``embeddings`` (of ``embedding_size``) -> ``encoder.embedding_hidden_mapping_in`` -> layer ``i``
is the layer group ``AlbertTransformer.forward`` picks for step ``i``. With the usual single
group, every exit sits after another pass through the same shared weights.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from epee.models.adapters.base import BackboneAdapter, LayerState, masked_mean


class AlbertAdapter(BackboneAdapter):
    family = "ALBERT"
    model_types = ("albert",)
    lora_target_modules = ("query", "key", "value")
    has_pretrained_pooler = True

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask = inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embedded = self.backbone.embeddings(input_ids=input_ids, token_type_ids=inputs.get("token_type_ids"))
        mask_4d = create_bidirectional_mask(
            config=self.backbone.config, inputs_embeds=embedded, attention_mask=attention_mask
        )
        hidden = self.backbone.encoder.embedding_hidden_mapping_in(embedded)
        return LayerState(hidden=hidden, attention_mask=attention_mask, layer_inputs={"attention_mask": mask_4d})

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        config = self.backbone.config
        # The same group index AlbertTransformer.forward computes for step ``index``.
        group_index = int(index / (config.num_hidden_layers / config.num_hidden_groups))
        group = self.backbone.encoder.albert_layer_groups[group_index]
        hidden = group(state.hidden, state.layer_inputs["attention_mask"])
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)

    def pool(self, state: LayerState) -> torch.Tensor:
        if self.pooling == "mean":
            return masked_mean(state.hidden, state.attention_mask)
        return state.hidden[:, 0]

    def pooler_dense(self) -> nn.Linear | None:
        return self.backbone.pooler
