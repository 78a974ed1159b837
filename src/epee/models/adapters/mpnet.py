"""MPNet: BERT-like layers plus a relative-position bias shared by all of them.

``MPNetEncoder.forward`` computes the bias once (``compute_position_bias``) and hands it to every
layer; here it is computed in :meth:`MPNetAdapter.embed` and carried in ``layer_inputs``, one
copy per row, so selecting rows keeps bias and hidden states aligned.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from epee.models.adapters.base import BackboneAdapter, LayerState, masked_mean


class MPNetAdapter(BackboneAdapter):
    family = "MPNet"
    model_types = ("mpnet",)
    lora_target_modules = ("q", "k", "v")
    has_pretrained_pooler = True

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask = inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.backbone.embeddings(input_ids=input_ids)
        mask_4d = create_bidirectional_mask(
            config=self.backbone.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        position_bias = self.backbone.encoder.compute_position_bias(hidden)  # [batch, heads, seq, seq]
        return LayerState(
            hidden=hidden,
            attention_mask=attention_mask,
            layer_inputs={"attention_mask": mask_4d, "position_bias": position_bias},
        )

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        layer = self.backbone.encoder.layer[index]
        hidden = layer(
            state.hidden,
            attention_mask=state.layer_inputs["attention_mask"],
            position_bias=state.layer_inputs["position_bias"],
        )[0]
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)

    def pool(self, state: LayerState) -> torch.Tensor:
        if self.pooling == "mean":
            return masked_mean(state.hidden, state.attention_mask)
        return state.hidden[:, 0]

    def pooler_dense(self) -> nn.Linear | None:
        pooler = self.backbone.pooler
        return None if pooler is None else pooler.dense
