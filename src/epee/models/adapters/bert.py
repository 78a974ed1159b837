"""BERT-style encoders: BERT (MiniLM included), RoBERTa, ELECTRA, XLM-RoBERTa.

They share one shape: ``embeddings`` -> ``encoder.layer[i](hidden, mask)``; the 4-D mask comes
from ``transformers.masking_utils.create_bidirectional_mask`` exactly as ``forward`` builds it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from epee.models.adapters.base import BackboneAdapter, LayerState, masked_mean


class BertLikeAdapter(BackboneAdapter):
    family = "BERT"
    model_types = ("bert", "roberta", "xlm-roberta", "electra", "camembert")
    lora_target_modules = ("query", "key", "value")
    has_pretrained_pooler = True

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask = inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.backbone.embeddings(input_ids=input_ids, token_type_ids=inputs.get("token_type_ids"))
        mask_4d = create_bidirectional_mask(
            config=self.backbone.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        return LayerState(hidden=hidden, attention_mask=attention_mask, layer_inputs={"attention_mask": mask_4d})

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        layer = self.backbone.encoder.layer[index]
        hidden = layer(state.hidden, attention_mask=state.layer_inputs["attention_mask"])
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)

    def pool(self, state: LayerState) -> torch.Tensor:
        if self.pooling == "mean":
            return masked_mean(state.hidden, state.attention_mask)
        return state.hidden[:, 0]

    def pooler_dense(self) -> nn.Linear | None:
        pooler = getattr(self.backbone, "pooler", None)
        return None if pooler is None else pooler.dense
