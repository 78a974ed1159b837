"""DistilBERT: BERT's shape with other names (``transformer.layer``, ``q_lin``...) and no pooler.

Its embeddings take no ``token_type_ids``. Its config spells sizes ``dim`` / ``n_layers``;
``hidden_size`` / ``num_hidden_layers`` reach them through the config's ``attribute_map``, so the
base class properties work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from epee.models.families.base import LayerState
from epee.models.families.encoder import EncoderFamily


class DistilBertFamily(EncoderFamily):
    display_name = "DistilBERT"
    model_types = ("distilbert",)
    lora_target_modules = ("q_lin", "k_lin", "v_lin")

    def embed_tokens(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.backbone.embeddings(inputs["input_ids"])

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        layer = self.backbone.transformer.layer[index]
        hidden = layer(state.hidden, attention_mask=state.layer_inputs["attention_mask"])
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)
