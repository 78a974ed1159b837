"""Reading a checkpoint's weight files safely: safetensors only, and every failure as one sentence.

A copied or half-downloaded checkpoint fails in ways the libraries report as parser internals
("header too small") or as a wall of tensor names; here each becomes a sentence naming the file,
the tensor and both shapes. Weights are never unpickled: a ``pytorch_model.bin`` can run code when
``torch.load`` opens it, so only ``*.safetensors`` files are read.
"""

from __future__ import annotations

from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_model
from torch import nn
from transformers import AutoModel, PreTrainedModel

from epee.errors import EpeeError

PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.ckpt", "tf_model.h5")


def stored_shapes(path: Path, what: str) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor in a safetensors file (its header only), or a sentence saying it is damaged."""
    if not path.is_file():
        raise EpeeError(f"The checkpoint has no {what} at {path}; copy the whole checkpoint directory again.")
    try:
        with safe_open(str(path), framework="pt") as weights:
            return {name: tuple(weights.get_slice(name).get_shape()) for name in weights.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as error:
        raise EpeeError(
            f"The {what} file {path} is damaged or incomplete ({error}; {path.stat().st_size} bytes); "
            f"copy the checkpoint again or retrain."
        ) from None


def load_module_exactly(module: nn.Module, path: Path, what: str, hint: str = "") -> None:
    """Load ``path`` into ``module``, refusing a missing, unexpected or differently shaped tensor by name."""
    expected = module.state_dict()
    for name, shape in stored_shapes(path, what).items():
        if name in expected and tuple(expected[name].shape) != shape:
            raise EpeeError(
                f"The {what} tensor {name!r} in {path} has shape {shape}, but the model built from the config "
                f"expects {tuple(expected[name].shape)}.{hint}"
            )
    try:
        missing, unexpected = load_model(module, str(path), strict=False)
    except (SafetensorError, OSError) as error:
        raise EpeeError(
            f"The {what} file {path} is damaged or incomplete ({error}); copy the checkpoint again."
        ) from None
    if missing or unexpected:
        raise EpeeError(
            f"The {what} in {path} do not match the model: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}.{hint}"
        )


def load_backbone_exactly(path: Path) -> PreTrainedModel:
    """A full backbone saved in a checkpoint, from safetensors only, with every weight present and in shape."""
    if not (path / "config.json").is_file():
        raise EpeeError(f"The checkpoint has no backbone weights at {path}.")
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        pickled = [name for name in PICKLE_WEIGHTS if (path / name).exists()]
        found = f" (only {', '.join(pickled)}, a pickle that can run code when loaded)" if pickled else ""
        raise EpeeError(
            f"The backbone at {path} has no model.safetensors{found}; epee loads safetensors only. Convert it with "
            f"transformers (model.save_pretrained(path, safe_serialization=True)) from a copy you trust."
        )
    for weight_file in weights:
        stored_shapes(weight_file, "backbone weights")  # a damaged file fails here, by name
    try:
        backbone, info = AutoModel.from_pretrained(
            path, output_loading_info=True, use_safetensors=True, ignore_mismatched_sizes=True
        )
    except (OSError, ValueError, KeyError) as error:
        raise EpeeError(f"The backbone at {path} cannot be loaded: {error}") from None
    if info["mismatched_keys"]:
        name, stored_shape, model_shape = sorted(info["mismatched_keys"], key=lambda item: item[0])[0]
        raise EpeeError(
            f"The backbone tensor {name!r} in {path} has shape {tuple(stored_shape)}, but its config.json builds "
            f"{tuple(model_shape)} ({len(info['mismatched_keys'])} tensors differ); the config and weights are from "
            f"different models."
        )
    problems = {kind: sorted(info[kind]) for kind in ("missing_keys", "unexpected_keys") if info[kind]}
    if problems:
        raise EpeeError(f"Backbone weights in {path} do not match its config: {problems}.")
    return backbone
