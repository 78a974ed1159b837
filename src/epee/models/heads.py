"""Exit heads: one classifier after every exit layer, with a shared, per-exit, MLP or no pooler."""

from __future__ import annotations

import copy

import torch
from torch import nn


def _pooler_like(pretrained_dense: nn.Linear | None, hidden_size: int) -> nn.Module:
    """A dense + tanh pooler, starting from the backbone's pretrained pooler when it has one.

    DeeBERT re-initialised trained exit poolers from the final pooler on every load; here the
    copy happens once, at construction, and the trained weights are what gets saved and loaded.
    """
    dense = copy.deepcopy(pretrained_dense) if pretrained_dense is not None else nn.Linear(hidden_size, hidden_size)
    return nn.Sequential(dense, nn.Tanh())


def _mlp_layer(hidden_size: int) -> nn.Module:
    """A fresh dense + GELU hidden layer: with the classifier after it, a small two-layer MLP per exit.

    It has the pooler's shape and cost (one h x h matrix), but starts from random weights and uses
    the transformer's own activation, so a comparison with ``per_exit`` says whether the pretrained
    pooler's start (trained for the last layer only) helps the shallow exits or holds them back.
    """
    return nn.Sequential(nn.Linear(hidden_size, hidden_size), nn.GELU())


class ExitHeads(nn.Module):
    """``num_exits`` classifiers: pooled features -> [pooler] -> dropout -> linear.

    ``pooler``: ``"none"`` (a linear head), ``"shared"`` or ``"per_exit"`` (BERT's dense + tanh,
    from the backbone's pretrained pooler when it has one), ``"mlp"`` (a fresh dense + GELU per exit).
    """

    def __init__(
        self,
        num_exits: int,
        hidden_size: int,
        num_labels: int,
        *,
        dropout: float,
        pooler: str,
        pretrained_pooler: nn.Linear | None = None,
    ):
        super().__init__()
        if pooler == "mlp":
            self.poolers = nn.ModuleList(_mlp_layer(hidden_size) for _ in range(num_exits))
        else:
            pooler_count = {"none": 0, "shared": 1, "per_exit": num_exits}[pooler]
            self.poolers = nn.ModuleList(_pooler_like(pretrained_pooler, hidden_size) for _ in range(pooler_count))
        self.dropout = nn.Dropout(dropout)
        self.classifiers = nn.ModuleList(nn.Linear(hidden_size, num_labels) for _ in range(num_exits))

    def forward(self, exit_index: int, features: torch.Tensor) -> torch.Tensor:
        """Logits ``[batch, labels]`` of exit ``exit_index`` from features ``[batch, hidden]``."""
        if len(self.poolers) > 0:
            features = self.poolers[min(exit_index, len(self.poolers) - 1)](features)
        return self.classifiers[exit_index](self.dropout(features))
