"""int8 for segment graphs: ONNX Runtime's dynamic quantization of the backbone's weight matrices.

Which nodes are quantized matters for accuracy more than for speed (``python -m benchmarks.engines
--quantization-study``, in BENCHMARKS.md): epee quantizes only ``MatMul`` nodes whose second input
is a constant weight (``MatMulConstBOnly``; by default ONNX Runtime also quantizes the attention
products of two activations, query·key and attention·value), with signed int8 weights per output
channel, and never the exit heads (their pooler and classifier decide who exits and cost little).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

INT8_SETTINGS = {
    "method": "onnxruntime.quantization.quantize_dynamic",
    "weight_type": "QInt8",
    "per_channel": True,
    "reduce_range": False,
    "constant_weights_only": True,
    "exit_heads_fp32": True,
}
"""What ``epee export --quantize int8`` applies; recorded in the manifest."""


def head_nodes(model) -> list[str]:
    """Names of the nodes computing the exit head (pooler and classifier): those fed by a ``heads.`` weight.

    The exporter writes a head's ``Linear`` as ``Gemm``; ``quantize_dynamic`` first rewrites a ``Gemm`` as
    ``NAME_MatMul`` + ``Add`` and checks exclusions on the new name, so both names are listed.
    """
    weights = {init.name for init in model.graph.initializer if "heads." in init.name}
    names = [node.name for node in model.graph.node if any(name in weights for name in node.input)]
    return [*names, *(f"{name}_MatMul" for name in names)]


def quantize_int8(paths: Sequence[Path], settings: dict | None = None) -> dict:
    """Quantize each graph in place (``settings`` over :data:`INT8_SETTINGS`); returns the settings applied."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    applied = {**INT8_SETTINGS, **(settings or {})}
    for path in paths:
        excluded = head_nodes(onnx.load(str(path))) if applied["exit_heads_fp32"] else []
        handle, temporary = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
        os.close(handle)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its "consider pre-processing" note on the root logger is for image models
        try:
            quantize_dynamic(
                str(path),
                temporary,
                weight_type=getattr(QuantType, applied["weight_type"]),
                per_channel=applied["per_channel"],
                reduce_range=applied["reduce_range"],
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=excluded,
                extra_options={"MatMulConstBOnly": applied["constant_weights_only"]},
            )
            os.replace(temporary, path)
        finally:
            root.setLevel(level)
            if os.path.exists(temporary):
                os.unlink(temporary)
    return applied
