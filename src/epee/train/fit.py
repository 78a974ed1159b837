"""From a dataset to a trained multi-exit model: the path ``epee train`` and ``epee demo`` share."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from epee.data import Dataset, Example, ImageExample
from epee.data.examples import AnyExample
from epee.defaults import SCRATCH_VIT
from epee.models import MultiExitModel
from epee.models.backbones import scratch_vit
from epee.tasks.encoding import EncodedSplit, TextEncoder, label_targets
from epee.tasks.image_encoding import ImageEncoder
from epee.tasks.metrics import metric_for
from epee.train.settings import TrainingSettings
from epee.train.trainer import TrainingHistory, train

logger = logging.getLogger(__name__)


@dataclass
class FineTuned:
    model: MultiExitModel
    encoder: TextEncoder | ImageEncoder
    history: TrainingHistory


def encode_split(
    encoder: TextEncoder | ImageEncoder, examples: Sequence[AnyExample], model: MultiExitModel
) -> EncodedSplit:
    """Encode a split's inputs and turn its label names into the model's targets."""
    features = encoder.encode_examples(examples)
    labels = label_targets([example.labels for example in examples], model.config.label_names, model.config.multi_label)
    return EncodedSplit(features, labels, encoder.sequence_lengths(features))


def input_encoder_for(model: MultiExitModel) -> TextEncoder | ImageEncoder:
    """The encoder that turns examples into this model's inputs: pixels for a ViT, tokens otherwise."""
    if model.config.model_type == "vit":
        config = model.backbone.config
        return ImageEncoder(config.image_size, config.num_channels, config.patch_size)
    return TextEncoder(model.tokenizer, model.config.max_length, model.config.truncation)


def holds_images(dataset: Dataset) -> bool:
    return isinstance(dataset.train[0], ImageExample)


def build_text_model(
    dataset: Dataset,
    *,
    backbone: str,
    peft: str | None = "lora",
    max_length: int = 128,
    truncation: str = "head",
    first_exit_layer: int = 1,
    pooling: str | None = None,
    pooler: str | None = None,
    dropout: float = 0.1,
) -> MultiExitModel:
    """A fresh multi-exit model on ``backbone`` with ``dataset``'s labels, markers and (optionally) PEFT."""
    if not isinstance(dataset.train[0], Example):
        raise ValueError(f"Dataset {dataset.name!r} holds images; use build_image_model (backbone {SCRATCH_VIT!r}).")
    optional = {"pooler": pooler} if pooler is not None else {}
    model = MultiExitModel.from_backbone(
        backbone,
        label_names=dataset.label_names,
        task=dataset.task,
        max_length=max_length,
        truncation=truncation,
        first_exit_layer=first_exit_layer,
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
        model.add_peft(peft, **({"new_token_ids": new_token_ids} if new_token_ids else {}))
    return model


def build_image_model(
    dataset: Dataset, *, num_layers: int = 6, first_exit_layer: int = 1, dropout: float = 0.1
) -> MultiExitModel:
    """A multi-exit ViT trained from scratch on ``dataset``'s images (see :func:`scratch_vit`)."""
    if not holds_images(dataset):
        raise ValueError(f"Dataset {dataset.name!r} holds texts; use build_text_model.")
    image_size = dataset.train[0].image.shape[0]
    return MultiExitModel.from_backbone(
        scratch_vit(image_size, num_layers=num_layers),
        label_names=dataset.label_names,
        task=dataset.task,
        first_exit_layer=first_exit_layer,
        dropout=dropout,
    )


def train_on_dataset(model: MultiExitModel, dataset: Dataset, settings: TrainingSettings) -> FineTuned:
    """Train ``model`` on the train split; the dev split picks the best epoch."""
    encoder = input_encoder_for(model)
    train_split = encode_split(encoder, dataset.train, model)
    dev_split = encode_split(encoder, dataset.dev, model) if dataset.dev else None
    logger.info(
        "Training %s on %d examples (%d dev), %d exits, %s",
        model.config.backbone,
        len(train_split),
        len(dev_split) if dev_split else 0,
        len(model.exit_layers),
        f"PEFT {model.config.peft['method']}" if model.config.peft else "full fine-tuning",
    )
    history = train(model, encoder, train_split, dev_split, settings, metric_for(dataset, "dev"))
    return FineTuned(model, encoder, history)
