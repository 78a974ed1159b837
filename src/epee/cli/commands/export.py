"""``epee export``: a checkpoint as ONNX graphs, one per segment, for ``--engine onnx``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.cli.checkpoint_options import AllowExternalBackboneOption
from epee.cli.errors import user_errors
from epee.cli.output import console


@user_errors
def export(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the ONNX graphs and manifest.")],
    quantize: Annotated[
        str | None,
        typer.Option(help="int8: ONNX Runtime dynamic quantization of the backbone's weights [default: none]."),
    ] = None,
    allow_external_backbone: AllowExternalBackboneOption = False,
) -> None:
    """Export the embeddings and every segment (layers up to an exit + its head) as ONNX graphs (PEFT merged)."""
    from epee.errors import EpeeError
    from epee.models import MultiExitModel

    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401

        from epee.runtime.onnx_export import export_onnx
    except ImportError:
        raise EpeeError('epee export needs the onnx extra; install it with pip install "epee[onnx]".') from None
    model = MultiExitModel.from_pretrained(checkpoint, allow_external_backbone=allow_external_backbone)
    directory = export_onnx(model, output, quantize=quantize)
    console.print(
        f"Exported {len(model.exit_layers)} segments (exits at layers {model.exit_layers})"
        f"{' with int8 weights' if quantize else ''} to {directory}; "
        f"run it with `epee predict {directory} INPUT --engine onnx`."
    )
    if quantize and model.config.policy is not None:
        console.print(
            "Its policy was chosen on the PyTorch model's fp32 exits; choose it on these int8 graphs' own exits "
            f"with `epee calibrate {directory} --engine onnx`."
        )
