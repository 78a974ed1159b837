"""DistilBERT: BERT's shape with other names (``transformer.layer``, ``q_lin``...) and no pooler.

Its config spells sizes ``dim`` / ``n_layers``; ``hidden_size`` / ``num_hidden_layers`` reach them
through the config's ``attribute_map``, so the base class properties work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from transformers.masking_utils import create_bidirectional_mask

from epee.models.adapters.base import BackboneAdapter, LayerState, masked_mean


class DistilBertAdapter(BackboneAdapter):
    family = "DistilBERT"
    model_types = ("distilbert",)
    lora_target_modules = ("q_lin", "k_lin", "v_lin")

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask = inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.backbone.embeddings(input_ids)
        mask_4d = create_bidirectional_mask(
            config=self.backbone.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        return LayerState(hidden=hidden, attention_mask=attention_mask, layer_inputs={"attention_mask": mask_4d})

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        layer = self.backbone.transformer.layer[index]
        hidden = layer(state.hidden, attention_mask=state.layer_inputs["attention_mask"])
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)

    def pool(self, state: LayerState) -> torch.Tensor:
        if self.pooling == "mean":
            return masked_mean(state.hidden, state.attention_mask)
        return state.hidden[:, 0]
