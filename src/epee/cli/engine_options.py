"""``--engine``: run a PyTorch checkpoint, or an ONNX directory written by ``epee export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.errors import EpeeError

ENGINES = ("torch", "onnx")

EngineOption = Annotated[
    str,
    typer.Option(help="torch (a checkpoint), or onnx (a directory written by `epee export`, run by ONNX Runtime)."),
]


def load_for_engine(path: Path, engine: str, allow_external_backbone: bool = False):
    """The model at ``path`` for ``engine``: a merged :class:`MultiExitModel`, or an ``OnnxModel``."""
    if engine not in ENGINES:
        raise EpeeError(f"--engine must be one of {ENGINES}, got {engine!r}.")
    if engine == "onnx":
        from epee.runtime.onnx_engine import OnnxModel

        return OnnxModel.load(path)
    from epee.models import MultiExitModel

    model = MultiExitModel.from_pretrained(path, allow_external_backbone=allow_external_backbone)
    model.merge_peft()
    return model


def engine_words(model) -> str:
    """How a calibration on an ONNX export is said: on which graphs the exits were computed ("" for PyTorch)."""
    engine = (model.config.calibration or {}).get("engine")
    if engine is None:
        return ""
    weights = "int8" if engine["quantization"] else "fp32"
    return f", calibrated on this export's own ONNX Runtime graphs ({weights} weights)"
