"""Engines: what the early-exit loop runs, one segment at a time.

A *segment* is the layers between two consecutive exits plus that exit's head. The loop in
:mod:`epee.runtime.dynamic` only embeds, runs segments, asks the policy and drops finished rows;
an engine says how those steps compute. :class:`TorchEngine` runs the model's family and heads in
PyTorch (a test holds it equal to the layer loop a PyTorch model runs in); ``epee.runtime.onnx_engine.OnnxModel``
runs one ONNX Runtime graph per segment. Both give the same policies and the same batch compaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import torch

from epee.models import MultiExitModel
from epee.models.families.base import LayerState


class SegmentState(Protocol):
    """The per-row state that flows between segments; ``select`` keeps the rows still running."""

    @property
    def batch_size(self) -> int: ...

    def select(self, rows: torch.Tensor) -> SegmentState: ...


class Engine(Protocol):
    """The interface the early-exit loop needs; ``exit_layers`` are 1-based backbone layers, one per exit."""

    exit_layers: list[int]
    num_labels: int
    multi_label: bool

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> SegmentState: ...

    def segment(self, exit_index: int, state: SegmentState) -> tuple[SegmentState, torch.Tensor]:
        """Run the layers up to exit ``exit_index`` and its head: the new state and logits ``[rows, labels]``."""
        ...


def segment_layers(exit_layers: list[int], exit_index: int) -> range:
    """The 0-based backbone layers segment ``exit_index`` runs: after the previous exit, up to this one."""
    start = exit_layers[exit_index - 1] if exit_index > 0 else 0
    return range(start, exit_layers[exit_index])


class TorchEngine:
    """A :class:`MultiExitModel` in PyTorch, segment by segment."""

    def __init__(self, model: MultiExitModel) -> None:
        self.model = model
        self.exit_layers = model.exit_layers
        self.num_labels = model.config.num_labels
        self.multi_label = model.config.multi_label

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> LayerState:
        return self.model.family.embed(inputs)

    def segment(self, exit_index: int, state: LayerState) -> tuple[LayerState, torch.Tensor]:
        family = self.model.family
        for layer_index in segment_layers(self.exit_layers, exit_index):
            state = family.run_layer(layer_index, state)
        return state, self.model.heads(exit_index, family.pool(state))
