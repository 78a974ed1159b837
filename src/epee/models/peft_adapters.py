"""Parameter-efficient adapters (LoRA, IA3) injected into the backbone in place through ``peft``.

The backbone stays a plain ``transformers`` model with adapter layers inside, and the exit heads
stay outside ``peft`` altogether: that avoids the known ``peft`` pitfall where a task head that
is not listed in ``modules_to_save`` is silently re-initialised or dropped on reload.

Tokens added to the vocabulary (entity and trigger markers) have no pretrained embedding: under
LoRA their embedding rows train as ``peft`` trainable tokens and are saved with the adapter,
because the base model they are reloaded onto has only random rows there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import peft
from peft.tuners.tuners_utils import BaseTunerLayer
from peft.utils.other import AuxiliaryTrainingWrapper
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from epee.errors import EpeeError

PEFT_METHODS = ("lora", "ia3")
# Taylor et al. 2024: LoRA r=8, alpha=8, dropout 0.1 (with lr 3e-4) holds up across small clinical models.
LORA_DEFAULTS = {"r": 8, "alpha": 8, "dropout": 0.1}
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def peft_config_for(settings: dict[str, Any], embedding_name: str) -> peft.PeftConfig:
    """The ``peft`` config of ``settings``; ``embedding_name`` is the input embedding's module name."""
    method = settings["method"]
    new_tokens = list(settings.get("new_token_ids", []))
    if method == "lora":
        return peft.LoraConfig(
            r=settings["r"],
            lora_alpha=settings["alpha"],
            lora_dropout=settings["dropout"],
            target_modules=list(settings["target_modules"]),
            trainable_token_indices={embedding_name: new_tokens} if new_tokens else None,
        )
    if method == "ia3":
        if new_tokens:
            raise EpeeError("IA3 cannot train the embeddings of added tokens (markers); use LoRA or --peft none.")
        return peft.IA3Config(
            target_modules=list(settings["target_modules"]),
            feedforward_modules=list(settings.get("feedforward_modules", [])),
        )
    raise EpeeError(f"PEFT method {method!r} is not supported; choose one of {PEFT_METHODS}.")


def inject(backbone: nn.Module, settings: dict[str, Any]) -> None:
    """Add adapter layers to ``backbone`` in place; only they stay trainable in the backbone."""
    embedding = backbone.get_input_embeddings()
    embedding_name = next(name for name, module in backbone.named_modules() if module is embedding)
    try:
        peft.inject_adapter_in_model(peft_config_for(settings, embedding_name.rsplit(".", 1)[-1]), backbone)
    except ValueError as error:  # peft's NoMatchingPeftModuleError is a ValueError
        if "not found in the base model" not in str(error):
            raise
        names = sorted(
            {name.rsplit(".", 1)[-1] for name, module in backbone.named_modules() if isinstance(module, nn.Linear)}
        )
        raise EpeeError(
            f"The {settings['method']} target modules {list(settings['target_modules'])} match no module of this "
            f"backbone; its linear layers are named {names}."
        ) from error


def save_adapter(backbone: nn.Module, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    save_file(peft.get_peft_model_state_dict(backbone), str(directory / ADAPTER_WEIGHTS))


def load_adapter(backbone: nn.Module, directory: Path) -> None:
    """Load saved adapter weights into an injected backbone, refusing any mismatch."""
    path = directory / ADAPTER_WEIGHTS
    if not path.is_file():
        raise EpeeError(f"The checkpoint has PEFT settings but no adapter weights at {path}.")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise EpeeError(
            f"The adapter weights file {path} is damaged or incomplete ({error}); copy the checkpoint again."
        ) from None
    expected_shapes = {name: tuple(tensor.shape) for name, tensor in peft.get_peft_model_state_dict(backbone).items()}
    for name, tensor in state.items():
        if name in expected_shapes and tuple(tensor.shape) != expected_shapes[name]:
            raise EpeeError(
                f"The adapter tensor {name!r} in {path} has shape {tuple(tensor.shape)}, but the PEFT settings in the "
                f"config build {expected_shapes[name]}; the config and adapter are from different runs."
            )
    result = peft.set_peft_model_state_dict(backbone, state)
    expected = set(peft.get_peft_model_state_dict(backbone))
    missing, unexpected = sorted(expected - set(state)), list(result.unexpected_keys)
    if missing or unexpected:
        raise EpeeError(
            f"Adapter weights in {path} do not match the backbone: missing {missing[:5]}, unexpected {unexpected[:5]}."
        )


def merge_into_backbone(backbone: nn.Module) -> None:
    """Fold adapter weights into the base layers and drop the adapter wrappers.

    Inference then runs exactly the plain ``transformers`` modules, at the plain model's speed.
    """
    unwrapped: list[str] = []
    for name, module in list(backbone.named_modules()):
        if any(name.startswith(f"{wrapper}.") for wrapper in unwrapped):
            continue  # the token layer inside a wrapper that is already merged
        if isinstance(module, AuxiliaryTrainingWrapper):  # trainable rows of added tokens in the embedding
            base = module.unload_and_optionally_merge_module(merge=True, safe_merge=False, adapter_names=None)
            unwrapped.append(name)
        elif isinstance(module, BaseTunerLayer):
            module.merge()
            base = module.get_base_layer()
        else:
            continue
        parent_name, _, child_name = name.rpartition(".")
        parent = backbone.get_submodule(parent_name) if parent_name else backbone
        setattr(parent, child_name, base)
