"""The contract every backbone family implements, so training and the runtime treat them alike.

A family wraps a Hugging Face model *as it is*: it calls the model's own embedding, layer and
norm modules, and never copies or patches modeling code. It exposes four things:
embed the inputs, run layer ``i``, pool the current hidden state for an exit head, and (through
:class:`LayerState`) select a subset of the batch so finished samples drop out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn
from transformers import PreTrainedModel

from epee.errors import EpeeError

PerRowValue = torch.Tensor | tuple[torch.Tensor, ...] | None


def _select_rows(value: PerRowValue, rows: torch.Tensor) -> PerRowValue:
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(part[rows] for part in value)
    return value[rows]


@dataclass
class LayerState:
    """What flows between layers for one batch; every tensor has the batch on dim 0.

    ``layer_inputs`` holds the family-specific keyword arguments that every layer receives
    (a 4-D attention mask, MPNet's relative-position bias, Llama's rotary cos/sin, ...).
    """

    hidden: torch.Tensor  # [batch, seq, hidden]
    attention_mask: torch.Tensor  # [batch, seq], 1 = real token
    layer_inputs: dict[str, PerRowValue] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return self.hidden.shape[0]

    def select(self, rows: torch.Tensor) -> LayerState:
        """Keep only ``rows`` (indices or a boolean mask): how finished samples leave the batch."""
        return LayerState(
            hidden=self.hidden[rows],
            attention_mask=self.attention_mask[rows],
            layer_inputs={name: _select_rows(value, rows) for name, value in self.layer_inputs.items()},
        )


class BackboneFamily(nn.Module):
    """Base class of the backbone families; subclasses set the class variables and 4 methods."""

    display_name: ClassVar[str]
    """Human name of the family, used in errors and docs."""
    model_types: ClassVar[tuple[str, ...]]
    """``config.model_type`` values this family serves."""
    lora_target_modules: ClassVar[tuple[str, ...]]
    """Module names LoRA adapts by default for this family."""
    pooling_modes: ClassVar[tuple[str, ...]] = ("cls", "mean")
    default_pooling: ClassVar[str] = "cls"
    has_pretrained_pooler: ClassVar[bool] = False
    modality: ClassVar[str] = "text"
    """What the family reads: ``"text"`` (token ids) or ``"image"`` (pixel values); picks the featurizer."""
    joins_states: ClassVar[bool] = False
    """Whether :meth:`concat_states` works: rows at the same depth can join one batch (layer-wise scheduling)."""

    def __init__(self, backbone: PreTrainedModel, pooling: str | None = None):
        super().__init__()
        pooling = pooling or self.default_pooling
        if pooling not in self.pooling_modes:
            raise EpeeError(
                f"Pooling {pooling!r} is not available for {self.display_name}; choose one of {self.pooling_modes}."
            )
        self.backbone = backbone
        self.pooling = pooling

    @property
    def config(self):
        return self.backbone.config

    @property
    def num_layers(self) -> int:
        return self.backbone.config.num_hidden_layers

    @property
    def hidden_size(self) -> int:
        return self.backbone.config.hidden_size

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        """Turn model inputs (tokenizer or image-processor output) into the state before layer 0."""
        raise NotImplementedError

    def run_layer(self, index: int, state: LayerState) -> LayerState:
        """Run layer ``index`` (0-based) of the backbone on ``state``."""
        raise NotImplementedError

    def pool(self, state: LayerState) -> torch.Tensor:
        """Features ``[batch, hidden]`` for the exit head that follows the layer just run."""
        raise NotImplementedError

    def concat_states(self, states: Sequence[LayerState]) -> LayerState:
        """The rows of several states that ran the same layers, as one state padded to the longest sequence.

        Layer-wise scheduling joins rows embedded at different times this way. The per-row layer
        inputs must be rebuilt for the padded length, which only the family knows how to do; families
        that have not said how (``joins_states``) refuse.
        """
        raise EpeeError(f"{self.display_name} backbones cannot join rows mid-depth; use batch scheduling.")

    def output_hidden(self, state: LayerState) -> torch.Tensor:
        """The backbone's own ``last_hidden_state`` after all layers (final norm where it has one).

        Used by the equivalence tests that keep families honest.
        """
        return state.hidden

    def pool_forward_output(self, last_hidden_state: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """Exit features from the backbone's own ``forward`` output (for timing the plain model).

        Families whose :meth:`pool` applies a final norm override this: ``forward`` applied it already.
        """
        if attention_mask is None:
            attention_mask = torch.ones(last_hidden_state.shape[:2], dtype=torch.long, device=last_hidden_state.device)
        return self.pool(LayerState(hidden=last_hidden_state, attention_mask=attention_mask))

    def pooler_dense(self) -> nn.Linear | None:
        """The dense layer of the backbone's pretrained pooler (dense + tanh), to start exit poolers from."""
        return None

    def extra_inputs_for_forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """Inputs the family derives itself (e.g. position ids) that ``forward`` must also get
        for the two paths to be comparable."""
        return {}


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens only: ``[batch, seq, hidden] -> [batch, hidden]``."""
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of the last real token of each row, correct for left and right padding."""
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    return (positions * attention_mask.long()).argmax(dim=1)


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens only (pads get 0, and are masked anyway).

    Decoders number positions from the first *real* token, so a left-padded row sees the same
    positions, and gives the same features, as the same row right-padded.
    """
    return (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)
