"""BERT-style encoders: BERT (MiniLM included), RoBERTa, ELECTRA, XLM-RoBERTa.

They share one shape: ``embeddings`` -> ``encoder.layer[i](hidden, mask)``, which is exactly the
:class:`EncoderFamily` defaults; only the layer loop is spelled out here.
"""

from __future__ import annotations

from epee.models.families.base import LayerState
from epee.models.families.encoder import EncoderFamily


class BertLikeFamily(EncoderFamily):
    display_name = "BERT"
    model_types = ("bert", "roberta", "xlm-roberta", "electra", "camembert")
    lora_target_modules = ("query", "key", "value")
    has_pretrained_pooler = True

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        layer = self.backbone.encoder.layer[index]
        hidden = layer(state.hidden, attention_mask=state.layer_inputs["attention_mask"])
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)
