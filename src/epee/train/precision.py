"""Mixed precision for training: bf16 autocast where the CPU computes bf16 natively, fp32 elsewhere.

On a CPU with AVX-512 BF16 (or AMX) oneDNN runs bf16 matrix products at about twice the fp32
rate; without them bf16 is emulated and slower, so ``"auto"`` falls back to fp32. Only the
forward pass is autocast: the weights, the optimizer state and the loss stay fp32 (the loss is
computed on fp32 logits), so nothing is lost to rounding across steps. Dev evaluation runs in
fp32, the precision the model is deployed in.
"""

from __future__ import annotations

import contextlib

import torch

from epee.errors import EpeeError

PRECISIONS = ("auto", "bf16", "fp32")


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bf16 arithmetic (AVX-512 BF16 or AMX)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_precision(precision: str) -> str:
    """``"auto"`` becomes ``"bf16"`` on a bf16-capable CPU, else ``"fp32"``; asking for bf16 without it is refused."""
    if precision not in PRECISIONS:
        raise EpeeError(f"precision {precision!r} is unknown; use one of {PRECISIONS}.")
    if precision == "auto":
        return "bf16" if cpu_supports_bf16() else "fp32"
    if precision == "bf16" and not cpu_supports_bf16():
        raise EpeeError("precision bf16 needs a CPU with AVX-512 BF16 or AMX; use precision fp32 (or auto).")
    return precision


def forward_precision(precision: str) -> contextlib.AbstractContextManager:
    """The context a training forward pass runs in for a resolved ``precision``."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
