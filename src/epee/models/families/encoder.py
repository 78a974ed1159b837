"""What the bidirectional text encoders (BERT, ALBERT, DistilBERT, MPNet) have in common.

Each embeds ``input_ids``, builds the 4-D mask with ``create_bidirectional_mask`` exactly as its
``forward`` does, and summarises a sequence by its [CLS] token or the mean of its real tokens.
A family says only how it calls its embeddings (:meth:`EncoderFamily.embed_tokens`) and, where
it has one, what it adds between the embeddings and layer 0 (:meth:`EncoderFamily.initial_state`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional
from transformers.masking_utils import create_bidirectional_mask

from epee.models.families.base import BackboneFamily, LayerState, PerRowValue, masked_mean


class EncoderFamily(BackboneFamily):
    """Base class of the text encoders: shared ``embed`` preamble and cls/mean pooling."""

    joins_states = True

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        input_ids = inputs["input_ids"]
        attention_mask = inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embedded = self.embed_tokens(inputs)
        mask_4d = create_bidirectional_mask(
            config=self.backbone.config, inputs_embeds=embedded, attention_mask=attention_mask
        )
        return self.initial_state(embedded, attention_mask, {"attention_mask": mask_4d})

    def concat_states(self, states: Sequence[LayerState]) -> LayerState:
        """Pad each state on the right (zero hidden states, mask 0) and rebuild the 4-D mask for the whole.

        Padded positions are masked keys, so every real token, and so every pooled row, computes what
        it computed in its own batch (up to the order of floating-point sums).
        """
        if any(set(state.layer_inputs) != {"attention_mask"} for state in states):
            return super().concat_states(states)
        length = max(state.hidden.shape[1] for state in states)
        hidden = torch.cat(
            [functional.pad(state.hidden, (0, 0, 0, length - state.hidden.shape[1])) for state in states]
        )
        attention_mask = torch.cat(
            [functional.pad(state.attention_mask, (0, length - state.attention_mask.shape[1])) for state in states]
        )
        mask_4d = create_bidirectional_mask(
            config=self.backbone.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        return LayerState(hidden=hidden, attention_mask=attention_mask, layer_inputs={"attention_mask": mask_4d})

    def embed_tokens(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The backbone's ``embeddings`` output; BERT's signature, which families that differ override."""
        return self.backbone.embeddings(input_ids=inputs["input_ids"], token_type_ids=inputs.get("token_type_ids"))

    def initial_state(
        self, embedded: torch.Tensor, attention_mask: torch.Tensor, layer_inputs: dict[str, PerRowValue]
    ) -> LayerState:
        """The state before layer 0; a family whose encoder does more before its first layer overrides this."""
        return LayerState(hidden=embedded, attention_mask=attention_mask, layer_inputs=layer_inputs)

    def pool(self, state: LayerState) -> torch.Tensor:
        if self.pooling == "mean":
            return masked_mean(state.hidden, state.attention_mask)
        return state.hidden[:, 0]

    def pooler_dense(self) -> nn.Linear | None:
        """BERT-style pooler (``pooler.dense`` + tanh); ``None`` when the backbone was loaded without one."""
        pooler = getattr(self.backbone, "pooler", None)
        return None if pooler is None else pooler.dense
