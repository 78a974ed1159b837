"""MPNet: BERT-like layers plus a relative-position bias shared by all of them.

``MPNetEncoder.forward`` computes the bias once (``compute_position_bias``) and hands it to every
layer; here it is computed in :meth:`MPNetFamily.initial_state` and carried in ``layer_inputs``,
one copy per row, so selecting rows keeps bias and hidden states aligned.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from epee.models.families.base import LayerState, PerRowValue
from epee.models.families.encoder import EncoderFamily


class MPNetFamily(EncoderFamily):
    display_name = "MPNet"
    model_types = ("mpnet",)
    lora_target_modules = ("q", "k", "v")
    has_pretrained_pooler = True
    joins_states = False  # the per-row position bias would need rebuilding for a padded length

    def embed_tokens(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.backbone.embeddings(input_ids=inputs["input_ids"])  # MPNet has no token types

    def initial_state(
        self, embedded: torch.Tensor, attention_mask: torch.Tensor, layer_inputs: dict[str, PerRowValue]
    ) -> LayerState:
        position_bias = self.backbone.encoder.compute_position_bias(embedded)  # [batch, heads, seq, seq]
        return LayerState(
            hidden=embedded,
            attention_mask=attention_mask,
            layer_inputs={**layer_inputs, "position_bias": position_bias},
        )

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        layer = self.backbone.encoder.layer[index]
        hidden = layer(
            state.hidden,
            attention_mask=state.layer_inputs["attention_mask"],
            position_bias=state.layer_inputs["position_bias"],
        )[0]
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)
