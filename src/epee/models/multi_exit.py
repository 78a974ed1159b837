"""``MultiExitModel``: a Hugging Face backbone with an exit head after every layer."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_model
from torch import nn
from transformers import AutoTokenizer, PreTrainedModel

from epee.atomic import atomic_directory, write_text_atomically
from epee.errors import EpeeError
from epee.models import peft_adapters
from epee.models.backbones import (
    backbone_revision,
    canonical_reference,
    check_backbone_reference,
    declared_pooling,
    load_backbone,
    load_tokenizer,
)
from epee.models.config import CONFIG_NAME, MultiExitConfig
from epee.models.families import BackboneFamily, build_family, family_class_for
from epee.models.heads import ExitHeads
from epee.models.weights import load_backbone_exactly, load_module_exactly

logger = logging.getLogger(__name__)

HEADS_FILE = "exit_heads.safetensors"
BACKBONE_DIR = "backbone"
ADAPTER_DIR = "adapter"
TOKENIZER_DIR = "tokenizer"


class MultiExitModel(nn.Module):
    """A backbone family plus one exit head per exit layer.

    ``forward`` computes every exit (training, calibration); the runtime in ``epee.runtime`` uses
    ``family`` and ``heads`` directly to stop early.
    """

    def __init__(self, config: MultiExitConfig, backbone: PreTrainedModel, tokenizer: Any = None):
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        self.family: BackboneFamily = build_family(backbone, pooling=config.pooling)
        num_layers = self.family.num_layers
        longest = _longest_input(backbone, tokenizer)
        if longest is not None and config.max_length > longest:
            raise EpeeError(
                f"max_length {config.max_length} is more tokens than this backbone can read ({longest}, its position "
                f"embeddings); use --max-length {longest} or less, and head_tail truncation for long notes."
            )
        self.exit_layers: list[int] = config.exit_layers(num_layers)
        self.exit_index_at_layer = {layer - 1: index for index, layer in enumerate(self.exit_layers)}
        """0-based backbone layer -> index of the exit after it."""
        self.heads = ExitHeads(
            len(self.exit_layers),
            self.family.hidden_size,
            config.num_labels,
            dropout=config.dropout,
            pooler=config.pooler,
            pretrained_pooler=self.family.pooler_dense(),
        )

    @property
    def backbone(self) -> PreTrainedModel:
        return self.family.backbone

    @property
    def num_layers(self) -> int:
        return self.family.num_layers

    @classmethod
    def from_backbone(
        cls,
        backbone: str | PreTrainedModel,
        *,
        label_names: Sequence[str],
        task: str = "single_label",
        tokenizer: Any = None,
        **settings: Any,
    ) -> MultiExitModel:
        """Start a new multi-exit model from pretrained weights (a name or path) or a built model."""
        if isinstance(backbone, str):
            reference = canonical_reference(backbone)
            model = load_backbone(backbone)
            settings.setdefault("backbone_revision", backbone_revision(backbone, model))
            if settings.get("pooling") is None:
                settings["pooling"] = declared_pooling(backbone)
            tokenizer = tokenizer if tokenizer is not None else load_tokenizer(backbone)
        else:
            reference, model = backbone.config.name_or_path or backbone.config.model_type, backbone
        if "pooler" not in settings:
            has_pooler = family_class_for(model.config.model_type).has_pretrained_pooler
            settings["pooler"] = "per_exit" if has_pooler else "none"
        config = MultiExitConfig(
            backbone=reference,
            model_type=model.config.model_type,
            task=task,
            label_names=list(label_names),
            **settings,
        )
        return cls(config, model, tokenizer)

    def forward(self, inputs: Mapping[str, torch.Tensor], *, earlier_exit_gradient: float = 1.0) -> torch.Tensor:
        """Logits of every exit: ``[exits, batch, labels]``.

        ``earlier_exit_gradient`` scales the gradient every exit before the last sends into the backbone (its own
        head's gradient is untouched; the logits are the same): below 1, the shallow exits' losses pull the shared
        layers less. Training passes it (``TrainingSettings.earlier_exit_gradient``); inference never needs it.
        """
        state = self.family.embed(inputs)
        exit_logits = []
        last_exit = len(self.exit_layers) - 1
        for index in range(self.num_layers):
            state = self.family.run_layer(index, state)
            if index in self.exit_index_at_layer:
                exit_index = self.exit_index_at_layer[index]
                pooled = self.family.pool(state)
                if exit_index != last_exit and earlier_exit_gradient != 1.0:
                    pooled = scale_gradient(pooled, earlier_exit_gradient)
                exit_logits.append(self.heads(exit_index, pooled))
        return torch.stack(exit_logits)

    def add_peft(self, method: str = "lora", target_modules: Sequence[str] | None = None, **options: Any) -> None:
        """Inject LoRA/IA3 into the backbone (in place); exit heads stay fully trainable.

        ``new_token_ids`` (an option) lists tokens added to the vocabulary, whose embedding rows then
        train and are saved with the adapter.
        """
        if self.config.peft is not None:
            raise EpeeError("This model already has a PEFT adapter.")
        settings: dict[str, Any] = {"method": method}
        if method == "lora":
            settings.update(peft_adapters.LORA_DEFAULTS)
        settings.update(options)
        settings["target_modules"] = list(target_modules or self.family.lora_target_modules)
        peft_adapters.inject(self.backbone, settings)
        self.config.peft = settings

    def merge_peft(self) -> None:
        """Fold adapter weights into the backbone for fast inference.

        The model then saves as a full checkpoint, no longer as a small adapter.
        """
        if self.config.peft is None:
            return
        peft_adapters.merge_into_backbone(self.backbone)
        self.config.peft = None

    # ---- checkpoints --------------------------------------------------------------------------

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write a checkpoint directory atomically: config and policy, exit heads, backbone or adapter, tokenizer.

        The new checkpoint is written beside ``directory`` and swapped in whole; an existing directory is
        replaced only when it is an epee checkpoint (never another folder), and a failure leaves it intact.
        """
        directory = Path(directory)
        with atomic_directory(directory, marker=CONFIG_NAME, kind="checkpoint") as staging:
            self.config.save(staging)
            save_model(self.heads, str(staging / HEADS_FILE))
            if self.config.peft is None:
                self.backbone.save_pretrained(staging / BACKBONE_DIR)
            else:
                peft_adapters.save_adapter(self.backbone, staging / ADAPTER_DIR)
            if self.tokenizer is not None:
                self.tokenizer.save_pretrained(staging / TOKENIZER_DIR)
        return directory

    def save_policy(self, directory: str | Path) -> Path:
        """Store only the policy and its calibration in the checkpoint ``directory`` (the ``policy.json`` sidecar).

        Nothing else is rewritten, so calibrating costs a few kilobytes. A version-1 checkpoint (policy kept
        inside ``epee_config.json``) gets its config rewritten in the current format after the sidecar.
        """
        directory = Path(directory)
        stored = MultiExitConfig.load(directory)
        if (stored.model_type, stored.label_names, stored.first_exit_layer, stored.exit_every) != (
            self.config.model_type,
            self.config.label_names,
            self.config.first_exit_layer,
            self.config.exit_every,
        ):
            raise EpeeError(f"{directory} holds another model; its policy was not changed.")
        self.config.save_policy(directory)
        if MultiExitConfig.stored_format(directory) < 2:
            write_text_atomically(directory / CONFIG_NAME, stored.config_json())
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, *, allow_external_backbone: bool = False) -> MultiExitModel:
        """Load a checkpoint; fails loudly when any backbone, adapter or head weight is missing or unexpected.

        Weights are read from safetensors only. A PEFT checkpoint names the base backbone it adapts; one
        outside the checkpoint that is not a bundled model (another directory, a Hub name) is code and
        weights from elsewhere, so it loads only with ``allow_external_backbone=True``.
        """
        directory = Path(directory)
        if directory.is_file():
            raise EpeeError(f"{directory} is a file; a checkpoint is the directory `epee train` wrote.")
        if not directory.is_dir():
            raise EpeeError(f"The checkpoint directory {str(directory)!r} does not exist.")
        config = MultiExitConfig.load(directory)
        tokenizer = _load_tokenizer(directory / TOKENIZER_DIR) if (directory / TOKENIZER_DIR).is_dir() else None
        if config.peft is None:
            backbone = load_backbone_exactly(directory / BACKBONE_DIR)
        else:
            check_backbone_reference(config.backbone, directory, allow_external_backbone)
            backbone = load_backbone(config.backbone)
            _check_revision(config, backbone)
            if config.peft.get("new_token_ids"):  # their rows come from the adapter; the size must match first
                backbone.resize_token_embeddings(len(tokenizer), mean_resizing=False)
            peft_adapters.inject(backbone, config.peft)
            peft_adapters.load_adapter(backbone, directory / ADAPTER_DIR)
        model = cls(config, backbone, tokenizer)
        hint = f" The config lists {config.num_labels} labels and {len(model.exit_layers)} exits: was it edited?"
        load_module_exactly(model.heads, directory / HEADS_FILE, "exit-head weights", hint)
        return model.eval()


def scale_gradient(tensor: torch.Tensor, factor: float) -> torch.Tensor:
    """``tensor`` itself going forward (``t + factor * 0``, exactly), its gradient times ``factor`` going back."""
    detached = tensor.detach()
    return detached + factor * (tensor - detached)


def copy_checkpoint(source: str | Path, target: str | Path) -> Path:
    """Copy the checkpoint ``source`` to ``target`` atomically (``target`` may only be a new directory, an empty
    one or another epee checkpoint): how ``epee calibrate --output`` leaves the original untouched."""
    source, target = Path(source), Path(target)
    if not (source / CONFIG_NAME).is_file():
        raise EpeeError(f"{source} is not an epee checkpoint: it has no {CONFIG_NAME}.")
    if target.resolve() == source.resolve():
        return target
    with atomic_directory(target, marker=CONFIG_NAME, kind="checkpoint") as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)
    return target


def _check_revision(config: MultiExitConfig, backbone: PreTrainedModel) -> None:
    """An adapter is only valid on the exact weights it was trained on; refuse any other."""
    if config.backbone_revision is None:
        return
    found = backbone_revision(config.backbone, backbone)
    if found != config.backbone_revision:
        raise EpeeError(
            f"The backbone {config.backbone!r} is not the one this adapter was trained on (trained on "
            f"{config.backbone_revision}, found {found}); install the original weights, or use a checkpoint "
            "saved after merge_peft(), which carries its own."
        )


def _load_tokenizer(path: Path) -> Any:
    try:
        return AutoTokenizer.from_pretrained(path)
    except Exception as error:  # tokenizers reports a damaged tokenizer.json as a bare Exception
        raise EpeeError(f"The tokenizer in {path} cannot be loaded ({error}); the checkpoint is damaged.") from error


def _longest_input(backbone: PreTrainedModel, tokenizer: Any) -> int | None:
    """Most tokens the backbone can position (None for images, or when the config does not say)."""
    if tokenizer is None:
        return None
    positions = getattr(backbone.config, "max_position_embeddings", None) or getattr(
        backbone.config, "n_positions", None
    )
    declared = getattr(tokenizer, "model_max_length", None)
    limits = [limit for limit in (positions, declared) if isinstance(limit, int) and 0 < limit < 1_000_000]
    return min(limits) if limits else None
