"""``export_onnx``: a multi-exit model as one ONNX graph for the embeddings and one per segment.

One graph holding every exit saves nothing: ONNX Runtime evaluates the whole graph whatever output
is fetched (onnxruntime issues #16483, #16013, #3128). So a segment — the layers between two
consecutive exits plus that exit's head — is its own graph, and the early-exit loop stops calling
graphs once every row has left. Graphs take dynamic batch and sequence axes. What the family's
``embed`` hands every layer (a 4-D attention mask, MPNet's position bias, rotary tables) is an
output of the embeddings graph and an input of every segment, so rows are dropped between
segments exactly as in PyTorch. PEFT adapters are merged first; ``quantize="int8"`` applies
ONNX Runtime's dynamic quantization to the backbone's weight matrices (see :func:`quantize_int8`).

The directory is self-describing: ``onnx_manifest.json`` (exit layers, labels, policy and where it
was calibrated, opset, input names, layer shape for FLOPs, graph files with SHA-256 hashes), the epee
config and policy, and the tokenizer. The policy is the checkpoint's, calibrated on PyTorch's exits;
``epee calibrate DIR --engine onnx`` recalibrates it on these graphs' own exits (what int8 needs).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from epee.atomic import atomic_directory, write_text_atomically
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.families.base import LayerState
from epee.runtime.engine import segment_layers
from epee.runtime.speed import flop_shape

logger = logging.getLogger(__name__)

MANIFEST_NAME = "onnx_manifest.json"
MANIFEST_FORMAT = 1
OPSET = 18
TOKENIZER_DIR = "tokenizer"
EXPORTABLE_MODEL_TYPES = ("bert", "roberta", "xlm-roberta", "electra", "camembert", "albert", "distilbert", "mpnet")
"""Text encoders, whose graphs export and run in ONNX Runtime equal to PyTorch (tests/runtime/test_onnx.py)."""
QUANTIZATIONS = ("int8",)
POLICY_FROM_CHECKPOINT = "checkpoint"
"""``policy_source`` in the manifest: the policy was copied from the PyTorch checkpoint at export..."""
POLICY_FROM_GRAPHS = "these graphs"
"""... or calibrated on this directory's own graphs by ``epee calibrate DIR --engine onnx``."""
_EXAMPLE_BATCH, _EXAMPLE_SEQUENCE = 3, 11  # sizes no hidden, head or vocabulary dimension of a model shares


def check_exportable(model: MultiExitModel) -> None:
    """Refuse families whose graphs are not exported and tested: decoders and images."""
    model_type = model.config.model_type
    if model_type not in EXPORTABLE_MODEL_TYPES:
        raise EpeeError(
            f"ONNX export supports the text encoders ({', '.join(EXPORTABLE_MODEL_TYPES)}), not {model_type!r}; "
            "run this model with the PyTorch engine."
        )


def _flatten(layer_inputs: Mapping[str, object]) -> tuple[list[tuple[str, int]], list[torch.Tensor]]:
    """``layer_inputs`` as a flat tensor list and its structure: (name, -1) for a tensor, (name, n) for an n-tuple."""
    structure, tensors = [], []
    for name in sorted(layer_inputs):
        value = layer_inputs[name]
        if isinstance(value, tuple):
            structure.append((name, len(value)))
            tensors.extend(value)
        elif isinstance(value, torch.Tensor):
            structure.append((name, -1))
            tensors.append(value)
        else:
            raise EpeeError(f"The layer input {name!r} is {type(value).__name__}; ONNX export needs tensors.")
    return structure, tensors


def _unflatten(structure: Sequence[tuple[str, int]], tensors: Sequence[torch.Tensor]) -> dict[str, object]:
    values, position = {}, 0
    for name, count in structure:
        if count < 0:
            values[name], position = tensors[position], position + 1
        else:
            values[name], position = tuple(tensors[position : position + count]), position + count
    return values


def flat_names(structure: Sequence[tuple[str, int]]) -> list[str]:
    """Graph names of the flattened layer inputs: ``layer.NAME`` or ``layer.NAME.i`` for tuple parts."""
    return [
        f"layer.{name}" if count < 0 else f"layer.{name}.{part}"
        for name, count in structure
        for part in (range(count) if count >= 0 else [None])
    ]


class _EmbeddingsGraph(nn.Module):
    def __init__(self, model: MultiExitModel, input_names: Sequence[str]) -> None:
        super().__init__()
        self.model, self.input_names = model, list(input_names)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        state = self.model.family.embed(dict(zip(self.input_names, inputs, strict=True)))
        return (state.hidden, *_flatten(state.layer_inputs)[1])


class _SegmentGraph(nn.Module):
    def __init__(self, model: MultiExitModel, exit_index: int, structure, last: bool) -> None:
        super().__init__()
        self.model, self.exit_index, self.structure, self.last = model, exit_index, structure, last

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor, *layer_inputs: torch.Tensor):
        state = LayerState(hidden, attention_mask, _unflatten(self.structure, layer_inputs))
        family = self.model.family
        for layer_index in segment_layers(self.model.exit_layers, self.exit_index):
            state = family.run_layer(layer_index, state)
        logits = self.model.heads(self.exit_index, family.pool(state))
        return logits if self.last else (logits, state.hidden)


def _dynamic_axes(tensor: torch.Tensor) -> dict[int, torch.export.Dim]:
    """Batch on dim 0; every other dim as long as the example sequence is the sequence axis."""
    axes = {0: torch.export.Dim("batch")}
    axes.update(
        {dim: torch.export.Dim("sequence") for dim in range(1, tensor.dim()) if tensor.shape[dim] == _EXAMPLE_SEQUENCE}
    )
    return axes


def _export(
    module: nn.Module, args: tuple[torch.Tensor, ...], fixed: int, path: Path, input_names, output_names
) -> None:
    """Export ``module(*args)``, whose first ``fixed`` arguments are named and the rest are ``*varargs``."""
    axes = [_dynamic_axes(arg) for arg in args]
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")  # "torchvision is not installed"
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on axis names and deprecations are not the user's
            torch.onnx.export(
                module,
                args,
                str(path),
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_shapes=(*axes[:fixed], tuple(axes[fixed:])),
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    finally:
        registration.setLevel(level)


def example_inputs(model: MultiExitModel) -> dict[str, torch.Tensor]:
    """Token ids shaped [3, 11] with padding, in the input names the model's tokenizer produces."""
    generator = torch.Generator().manual_seed(0)
    vocab_size = model.backbone.get_input_embeddings().num_embeddings
    input_ids = torch.randint(5, vocab_size, (_EXAMPLE_BATCH, _EXAMPLE_SEQUENCE), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 7:] = 0
    attention_mask[2, 4:] = 0
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    names = model.tokenizer.model_input_names if model.tokenizer is not None else ["input_ids", "attention_mask"]
    if "token_type_ids" in names and getattr(model.backbone.config, "type_vocab_size", 0):
        inputs["token_type_ids"] = torch.zeros_like(input_ids)
    return inputs


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_onnx(model: MultiExitModel, directory: str | Path, *, quantize: str | None = None) -> Path:
    """Write the ONNX directory for ``model`` (left unchanged: a merged copy is exported) and return it."""
    check_exportable(model)
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise EpeeError(f"Quantization {quantize!r} is not available; choose one of {QUANTIZATIONS} or none.")
    model = copy.deepcopy(model).eval()
    model.merge_peft()
    inputs = example_inputs(model)
    # no_grad, not inference_mode: torch.export cannot trace inference tensors without falling back to its
    # strict (dynamo) capture, which takes twice as long.
    with torch.no_grad():
        state = model.family.embed(inputs)
    structure, layer_tensors = _flatten(state.layer_inputs)
    layer_names = flat_names(structure)
    directory = Path(directory)
    segments = []
    with atomic_directory(directory, marker=MANIFEST_NAME, kind="ONNX export") as staging:
        _export(
            _EmbeddingsGraph(model, list(inputs)),
            tuple(inputs.values()),
            0,
            staging / "embeddings.onnx",
            list(inputs),
            ["hidden", *layer_names],
        )
        hidden = state.hidden
        num_exits = len(model.exit_layers)
        for exit_index in range(num_exits):
            last = exit_index == num_exits - 1
            graph = _SegmentGraph(model, exit_index, structure, last)
            args = (hidden, state.attention_mask, *layer_tensors)
            name = f"segment_{exit_index:02d}.onnx"
            _export(
                graph,
                args,
                2,
                staging / name,
                ["hidden", "attention_mask", *layer_names],
                ["logits"] if last else ["logits", "hidden_out"],
            )
            if not last:
                with torch.no_grad():
                    hidden = graph(*args)[1]
            layers = segment_layers(model.exit_layers, exit_index)
            segments.append(
                {"file": name, "layers": [layers.start + 1, layers.stop], "exit_layer": model.exit_layers[exit_index]}
            )
        quantization = None
        if quantize == "int8":
            from epee.runtime.onnx_quantize import quantize_int8

            quantization = quantize_int8([staging / segment["file"] for segment in segments])
        model.config.save(staging)
        if model.tokenizer is not None:
            model.tokenizer.save_pretrained(staging / TOKENIZER_DIR)
        import onnx
        import onnxruntime

        manifest = {
            "format": MANIFEST_FORMAT,
            "model_type": model.config.model_type,
            "num_layers": model.num_layers,
            "exit_layers": model.exit_layers,
            "label_names": list(model.config.label_names),
            "task": model.config.task,
            "policy": model.config.policy,
            "policy_source": POLICY_FROM_CHECKPOINT,
            "flop_shape": dataclasses.asdict(flop_shape(model)),
            "opset": OPSET,
            "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
            "inputs": list(inputs),
            "layer_inputs": [list(item) for item in structure],
            "quantization": quantization,
            "embeddings": {"file": "embeddings.onnx", "sha256": file_sha256(staging / "embeddings.onnx")},
            "segments": [{**s, "sha256": file_sha256(staging / s["file"])} for s in segments],
        }
        write_text_atomically(staging / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return directory


def quantized_copy(source: str | Path, target: str | Path, settings: dict | None = None) -> Path:
    """Copy the fp32 export ``source`` to ``target`` with its segments quantized to int8 under ``settings``
    (see :mod:`epee.runtime.onnx_quantize`): how quantization variants are compared without exporting again."""
    import shutil

    from epee.runtime.onnx_quantize import quantize_int8

    source, target = Path(source), Path(target)
    manifest = json.loads((source / MANIFEST_NAME).read_text(encoding="utf-8"))
    if manifest["quantization"] is not None:
        raise EpeeError(f"{source} is already quantized; quantize the fp32 export.")
    with atomic_directory(target, marker=MANIFEST_NAME, kind="ONNX export") as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        manifest["quantization"] = quantize_int8(
            [staging / segment["file"] for segment in manifest["segments"]], settings
        )
        for segment in manifest["segments"]:
            segment["sha256"] = file_sha256(staging / segment["file"])
        write_text_atomically(staging / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return target
