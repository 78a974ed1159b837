"""From examples to a model's inputs: the featurizer its backbone family reads, and encoded splits.

The modality comes from the backbone family (:attr:`BackboneFamily.modality`), so a new image
family needs no change here.
"""

from __future__ import annotations

from collections.abc import Sequence

from epee.data.examples import AnyExample
from epee.models.multi_exit import MultiExitModel
from epee.tasks.encoding import EncodedSplit, TextFeaturizer, label_targets
from epee.tasks.image_encoding import ImageFeaturizer

Featurizer = TextFeaturizer | ImageFeaturizer


def featurizer_for(model: MultiExitModel) -> Featurizer:
    """The featurizer that turns examples into this model's inputs: pixels for an image family, tokens otherwise."""
    if model.family.modality == "image":
        config = model.backbone.config
        return ImageFeaturizer(config.image_size, config.num_channels, config.patch_size)
    return TextFeaturizer(model.tokenizer, model.config.max_length, model.config.truncation)


def encode_split(featurizer: Featurizer, examples: Sequence[AnyExample], model: MultiExitModel) -> EncodedSplit:
    """Encode a split's inputs and turn its label names into the model's targets."""
    features = featurizer.encode_examples(examples)
    labels = label_targets([example.labels for example in examples], model.config.label_names, model.config.multi_label)
    return EncodedSplit(features, labels, featurizer.sequence_lengths(features))
