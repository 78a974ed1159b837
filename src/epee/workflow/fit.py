"""From a dataset to a trained multi-exit model: the path ``epee train`` and ``epee demo`` share."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from epee.data import Dataset, Example, ImageExample
from epee.data.recipe import DataRecipe
from epee.defaults import DEFAULT_BACKBONE, SCRATCH_LEARNING_RATE, SCRATCH_VIT
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.backbones import scratch_vit
from epee.models.inputs import Featurizer, encode_split, featurizer_for
from epee.tasks.metrics import metric_for
from epee.train.settings import TrainingSettings, scratch_epochs
from epee.train.state import read_run_context
from epee.train.trainer import TrainingHistory, train

logger = logging.getLogger(__name__)

SCRATCH_PATCH_SIZE = 4
SCRATCH_LAYERS = 6
MAX_SCRATCH_IMAGE_SIZE = 64
"""Larger images are shrunk to this side: 16 x 16 patches of 4 pixels (257 tokens) is what a ViT trained from
scratch on a few thousand images on CPU can afford; sharper detail needs a pretrained vision backbone."""


@dataclass
class FineTuned:
    model: MultiExitModel
    featurizer: Featurizer
    history: TrainingHistory


def holds_images(dataset: Dataset) -> bool:
    return isinstance(dataset.train[0], ImageExample)


@dataclass(frozen=True)
class ModelSettings:
    """What model to build. ``None`` means the default for the data: texts get ``DEFAULT_BACKBONE``
    with LoRA, images a ViT trained from scratch with full training (no pretrained ViT fits 28x28
    MedMNIST images, and LoRA on random weights would train almost nothing)."""

    backbone: str | None = None
    peft: str | None = None  # "lora", "ia3", "none"
    max_length: int = 128
    truncation: str = "head"
    first_exit_layer: int = 1
    exit_every: int = 1
    pooling: str | None = None


def build_model(dataset: Dataset, settings: ModelSettings = ModelSettings()) -> MultiExitModel:
    """A fresh multi-exit model for ``dataset``: the one place that decides images vs texts and their defaults.

    ``epee train``, the demo and the benchmark suite all build through here.
    """
    if holds_images(dataset):
        if settings.backbone not in (None, SCRATCH_VIT) or settings.peft not in (None, "none"):
            raise EpeeError(f"Images train a ViT from scratch: leave --backbone at {SCRATCH_VIT} and --peft at none.")
        return build_image_model(dataset, first_exit_layer=settings.first_exit_layer, exit_every=settings.exit_every)
    return build_text_model(
        dataset,
        backbone=settings.backbone or DEFAULT_BACKBONE,
        peft=None if settings.peft == "none" else settings.peft or "lora",
        max_length=settings.max_length,
        truncation=settings.truncation,
        first_exit_layer=settings.first_exit_layer,
        exit_every=settings.exit_every,
        pooling=settings.pooling,
    )


def build_text_model(
    dataset: Dataset,
    *,
    backbone: str,
    peft: str | None = "lora",
    max_length: int = 128,
    truncation: str = "head",
    first_exit_layer: int = 1,
    exit_every: int = 1,
    pooling: str | None = None,
    pooler: str | None = None,
    dropout: float = 0.1,
    target_modules: Sequence[str] | None = None,
) -> MultiExitModel:
    """A fresh multi-exit model on ``backbone`` with ``dataset``'s labels, markers and (optionally) PEFT.

    ``target_modules`` names the linear layers the adapter goes into (default: the family's attention projections).
    """
    if not isinstance(dataset.train[0], Example):
        raise EpeeError(f"Dataset {dataset.name!r} holds images; use build_image_model (backbone {SCRATCH_VIT!r}).")
    optional = {"pooler": pooler} if pooler is not None else {}
    model = MultiExitModel.from_backbone(
        backbone,
        label_names=dataset.label_names,
        task=dataset.task,
        max_length=max_length,
        truncation=truncation,
        first_exit_layer=first_exit_layer,
        exit_every=exit_every,
        pooling=pooling,
        dropout=dropout,
        **optional,
    )
    new_token_ids: list[int] = []
    if dataset.special_tokens:
        model.tokenizer.add_special_tokens({"additional_special_tokens": list(dataset.special_tokens)})
        model.backbone.resize_token_embeddings(len(model.tokenizer))
        new_token_ids = model.tokenizer.convert_tokens_to_ids(list(dataset.special_tokens))
    if peft is not None:
        model.add_peft(peft, target_modules, **({"new_token_ids": new_token_ids} if new_token_ids else {}))
    return model


def build_image_model(
    dataset: Dataset,
    *,
    num_layers: int = SCRATCH_LAYERS,
    first_exit_layer: int = 1,
    exit_every: int = 1,
    dropout: float = 0.1,
) -> MultiExitModel:
    """A multi-exit ViT trained from scratch on ``dataset``'s images (see :func:`scratch_vit`), sized by
    :func:`scratch_image_shape`."""
    if not holds_images(dataset):
        raise EpeeError(f"Dataset {dataset.name!r} holds texts; use build_text_model.")
    image_size, num_channels = scratch_image_shape(dataset)
    return MultiExitModel.from_backbone(
        scratch_vit(image_size, num_channels=num_channels, patch_size=SCRATCH_PATCH_SIZE, num_layers=num_layers),
        label_names=dataset.label_names,
        task=dataset.task,
        first_exit_layer=first_exit_layer,
        exit_every=exit_every,
        dropout=dropout,
    )


def scratch_image_shape(dataset: Dataset) -> tuple[int, int]:
    """The side and channel count of the scratch ViT for ``dataset``'s training images.

    The side is the most common longer side among the training images, rounded up to whole
    patches and capped at :data:`MAX_SCRATCH_IMAGE_SIZE`; every image is resized to it (28 for
    MedMNIST: its images stay as they are). RGB when any training image is in colour, else gray.
    """
    sides = Counter(max(example.image.shape[:2]) for example in dataset.train)
    side = min(sides.most_common(1)[0][0], MAX_SCRATCH_IMAGE_SIZE)
    side = -(-side // SCRATCH_PATCH_SIZE) * SCRATCH_PATCH_SIZE
    return side, 3 if any(example.is_rgb for example in dataset.train) else 1


def train_on_dataset(
    model: MultiExitModel,
    dataset: Dataset,
    settings: TrainingSettings,
    *,
    state_dir: Path | None = None,
    context: dict | None = None,
) -> FineTuned:
    """Train ``model`` on the train split; the dev split picks the best epoch.

    ``state_dir`` makes the run resumable (:func:`epee.train.train`); ``context`` is saved with its state.

    A ViT trained from scratch gets :data:`SCRATCH_LEARNING_RATE` unless a learning rate is given:
    the fine-tuning defaults would barely move random weights; and unless epochs are given, enough
    of them for a few hundred steps (:func:`~epee.train.settings.scratch_epochs`).
    """
    if holds_images(dataset) and settings.learning_rate is None:
        settings = replace(settings, learning_rate=SCRATCH_LEARNING_RATE)
    if holds_images(dataset) and settings.epochs is None:
        settings = replace(settings, epochs=scratch_epochs(len(dataset.train), settings.batch_size))
    featurizer = featurizer_for(model)
    train_split = encode_split(featurizer, dataset.train, model)
    dev_split = encode_split(featurizer, dataset.dev, model) if dataset.dev else None
    logger.info(
        "Training %s on %d examples (%d dev), %d exits, %s",
        model.config.backbone,
        len(train_split),
        len(dev_split) if dev_split else 0,
        len(model.exit_layers),
        f"PEFT {model.config.peft['method']}" if model.config.peft else "full fine-tuning",
    )
    metric = metric_for(dataset, "dev")
    history = train(
        model,
        featurizer,
        train_split,
        dev_split,
        settings,
        metric,
        metric_name=dataset.metric,
        state_dir=state_dir,
        context=context,
    )
    return FineTuned(model, featurizer, history)


def train_from_recipe(
    data_options: Mapping[str, Any],
    model_settings: ModelSettings,
    settings: TrainingSettings,
    *,
    state_dir: Path | None = None,
) -> tuple[FineTuned, Dataset]:
    """What ``epee train`` does: load the data the options describe, build, train; the model records the recipe.

    The data are split with the training seed unless the options name another. With ``state_dir``
    the run saves a resumable state there, with what :func:`resume_from_state` needs to continue it.
    """
    recipe = DataRecipe(seed=settings.seed).with_overrides(data_options)
    return _train_recipe(recipe, model_settings, settings, state_dir)


def resume_from_state(state_dir: Path, *, time_budget_minutes: float | None = None) -> tuple[FineTuned, Dataset]:
    """Continue the run whose state is in ``state_dir``, on the data, model and settings it started with.

    ``time_budget_minutes`` replaces the run's budget (a resumed run may be given more time).
    """
    run = read_run_context(state_dir)
    values = run["training_settings"]
    if isinstance(values["depth_weights"], list):
        values = {**values, "depth_weights": tuple(values["depth_weights"])}
    settings = TrainingSettings(**values)
    if time_budget_minutes is not None:
        settings = replace(settings, time_budget_minutes=time_budget_minutes)
    model_settings = ModelSettings(**run["model_settings"])
    return _train_recipe(DataRecipe.from_dict(run["data_recipe"]), model_settings, settings, state_dir)


def _train_recipe(
    recipe: DataRecipe, model_settings: ModelSettings, settings: TrainingSettings, state_dir: Path | None
) -> tuple[FineTuned, Dataset]:
    dataset = recipe.load()
    torch.manual_seed(settings.seed)  # the exit heads' (and adapters') initial weights, so a seed repeats a run
    model = build_model(dataset, model_settings)
    model.config.data_recipe = recipe.to_dict()
    context = {
        "data_recipe": recipe.to_dict(),
        "model_settings": asdict(model_settings),
        "training_settings": asdict(settings),
    }
    return train_on_dataset(model, dataset, settings, state_dir=state_dir, context=context), dataset
