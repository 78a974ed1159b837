"""ViT: image patches in, [CLS] out; grayscale works through ``config.num_channels = 1``.

Every exit reads its features through the final ``layernorm``, as ``ViTForImageClassification``
does for the last layer. The backbone's ``pooler`` is not offered to exit heads: ViT classifiers
are trained without it, so its weights carry nothing a classifier relies on.
There is no padding in an image, so the state's ``attention_mask`` is all ones.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from transformers.masking_utils import create_bidirectional_mask

from epee.models.families.base import BackboneFamily, LayerState


class ViTFamily(BackboneFamily):
    display_name = "ViT"
    modality = "image"
    model_types = ("vit",)
    lora_target_modules = ("q_proj", "k_proj", "v_proj")

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        patch_weight = self.backbone.embeddings.patch_embeddings.projection.weight
        pixel_values = inputs["pixel_values"].to(patch_weight.dtype)  # [batch, channels, height, width]
        hidden = self.backbone.embeddings(pixel_values)  # [batch, 1 + patches, hidden]
        attention_mask = torch.ones(hidden.shape[:2], dtype=torch.long, device=hidden.device)
        mask_4d = create_bidirectional_mask(config=self.backbone.config, inputs_embeds=hidden, attention_mask=None)
        return LayerState(hidden=hidden, attention_mask=attention_mask, layer_inputs={"attention_mask": mask_4d})

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        layer = self.backbone.layers[index]
        hidden = layer(state.hidden, state.layer_inputs["attention_mask"])
        return LayerState(hidden=hidden, attention_mask=state.attention_mask, layer_inputs=state.layer_inputs)

    def pool(self, state: LayerState) -> torch.Tensor:
        """[CLS], or the mean over all tokens ([CLS] included), of what ``last_hidden_state`` would be."""
        if self.pooling == "mean":
            return self.output_hidden(state).mean(dim=1)
        return self.backbone.layernorm(state.hidden[:, 0])

    def pool_forward_output(self, last_hidden_state: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if self.pooling == "mean":
            return last_hidden_state.mean(dim=1)
        return last_hidden_state[:, 0]

    def output_hidden(self, state: LayerState) -> torch.Tensor:
        return self.backbone.layernorm(state.hidden)
