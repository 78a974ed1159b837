"""Speed-up figures, named for what they count (DESIGN.md, "Speed-up, honestly").

* layer speed-up ``L / mean(exit layer)`` and saved fraction ``1 - mean(exit layer) / L``: the
  two figures the literature mixes up; exit layers are 1-based backbone layer numbers;
* FLOPs speed-up: the same ratio in floating-point operations, charging every exit head a sample
  evaluates on its way, against the plain model (all L layers and one classification head).

Wall-clock speed-up is measured by the runtime, not computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from epee.errors import EpeeError
from epee.models import MultiExitModel

ArrayLike = np.ndarray | torch.Tensor | Sequence[int]


def _as_layers(exit_layers: ArrayLike, num_layers: int) -> np.ndarray:
    if isinstance(exit_layers, torch.Tensor):
        exit_layers = exit_layers.detach().cpu().numpy()
    layers = np.asarray(exit_layers, dtype=np.int64).reshape(-1)
    if num_layers < 1:
        raise EpeeError(f"num_layers must be >= 1; got {num_layers}.")
    if layers.size == 0:
        raise EpeeError("Speed-up needs at least one exit layer; got none.")
    if layers.min() < 1 or layers.max() > num_layers:
        raise EpeeError(
            f"Exit layers are 1-based backbone layer numbers in [1, {num_layers}]; "
            f"got values from {layers.min()} to {layers.max()}."
        )
    return layers


def mean_exit_layer(exit_layers: ArrayLike, num_layers: int) -> float:
    """Mean 1-based layer at which samples exit."""
    return float(_as_layers(exit_layers, num_layers).mean())


def layer_speedup(exit_layers: ArrayLike, num_layers: int) -> float:
    """``L / mean(exit layer)``: how many times fewer backbone layers run than in the full model."""
    return num_layers / mean_exit_layer(exit_layers, num_layers)


def saved_fraction(exit_layers: ArrayLike, num_layers: int) -> float:
    """``1 - mean(exit layer) / L``: the fraction of backbone layers skipped (not a speed-up factor)."""
    return 1.0 - mean_exit_layer(exit_layers, num_layers) / num_layers


def flops_speedup(
    exit_layers: ArrayLike,
    layer_flops: float,
    head_flops: float,
    exit_layer_numbers: Sequence[int],
    num_layers: int,
) -> float:
    """FLOPs of the full model over the mean FLOPs of early-exit inference.

    A sample exiting at layer l costs ``l * layer_flops + h(l) * head_flops``, where h(l) counts
    the exit heads at ``exit_layer_numbers`` <= l: every head on the way is evaluated, not only
    the one taken. The baseline is the plain model: ``L * layer_flops + head_flops``.
    """
    layers = _as_layers(exit_layers, num_layers)
    head_layers = np.sort(np.asarray(exit_layer_numbers, dtype=np.int64))
    if not np.isin(layers, head_layers).all():
        raise EpeeError(
            f"Every exit layer must be one of the exit head layers {head_layers.tolist()}; "
            f"got {sorted(set(layers.tolist()) - set(head_layers.tolist()))}."
        )
    heads_evaluated = np.searchsorted(head_layers, layers, side="right")  # [samples]
    mean_cost = (layers * layer_flops + heads_evaluated * head_flops).mean()
    return float((num_layers * layer_flops + head_flops) / mean_cost)


def transformer_layer_flops(hidden_size: int, intermediate_size: int, seq_len: int) -> int:
    """FLOPs of one encoder/decoder layer on one sequence: ``2 * (4 s h^2 + 2 s^2 h + 2 s h i)``.

    Multiply-adds, counted twice: Q, K, V and output projections (4 s h^2), attention scores and
    the weighted sum of values (2 s^2 h), and the two feed-forward matrices (2 s h i), for
    sequence length s, hidden size h and intermediate size i. Biases, norms, softmax and
    activations are left out (they are O(s h) or O(s^2) against O(s h^2)).
    """
    projections = 4 * seq_len * hidden_size**2
    attention = 2 * seq_len**2 * hidden_size
    feed_forward = 2 * seq_len * hidden_size * intermediate_size
    multiply_adds = projections + attention + feed_forward
    return 2 * multiply_adds


def exit_head_flops(hidden_size: int, num_classes: int, pooler: bool) -> int:
    """FLOPs of one exit head on one pooled vector: ``2 * (h^2 [pooler] + h C)``.

    A dense h x h pooler (when the head has one) followed by the h x C classifier; the pooling
    itself, the tanh and the biases are left out.
    """
    multiply_adds = (hidden_size**2 if pooler else 0) + hidden_size * num_classes
    return 2 * multiply_adds


@dataclass(frozen=True)
class FlopShape:
    """What the FLOPs count needs of a model; an ONNX export records it, having no modules to read it from."""

    hidden_size: int
    intermediate_size: int
    pooler: bool


def flop_shape(model: MultiExitModel) -> FlopShape:
    """The hidden and feed-forward sizes of ``model``'s layers and whether its exit heads have a pooler."""
    config = model.backbone.config
    hidden = model.family.hidden_size
    intermediate = getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim", None) or 4 * hidden
    return FlopShape(int(hidden), int(intermediate), len(model.heads.poolers) > 0)
