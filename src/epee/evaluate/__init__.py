"""Evaluation: task metrics and speed-up figures."""

from epee.evaluate.speed import (
    exit_head_flops,
    flops_speedup,
    layer_speedup,
    mean_exit_layer,
    saved_fraction,
    transformer_layer_flops,
)

__all__ = [
    "exit_head_flops",
    "flops_speedup",
    "layer_speedup",
    "mean_exit_layer",
    "saved_fraction",
    "transformer_layer_flops",
]
