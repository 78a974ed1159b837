"""Images become ViT inputs with ViTImageProcessor's scaling, at the backbone's size and channel count."""

import numpy as np
import pytest
import torch

from epee.data import Example, ImageExample
from epee.tasks.image_encoding import ImageFeaturizer


def _image(value, size=4):
    return ImageExample(image=np.full((size, size), value, dtype=np.uint8), labels=("normal",))


def test_pixels_are_scaled_to_minus_one_to_one():
    featurizer = ImageFeaturizer(image_size=4, num_channels=1, patch_size=2)
    features = featurizer.encode_examples([_image(0), _image(255), _image(51)])
    values = [feature["pixel_values"] for feature in features]
    assert [tuple(value.shape) for value in values] == [(1, 4, 4)] * 3
    assert torch.equal(values[0], torch.full((1, 4, 4), -1.0))
    assert torch.equal(values[1], torch.full((1, 4, 4), 1.0))
    assert torch.allclose(values[2], torch.full((1, 4, 4), -0.6))


def test_resize_and_gray_to_rgb():
    featurizer = ImageFeaturizer(image_size=8, num_channels=3, patch_size=4)
    (feature,) = featurizer.encode_examples([_image(255, size=4)])
    assert tuple(feature["pixel_values"].shape) == (3, 8, 8)
    assert torch.allclose(feature["pixel_values"], torch.ones(3, 8, 8))
    batch = featurizer.collate([feature, feature])
    assert tuple(batch["pixel_values"].shape) == (2, 3, 8, 8)
    assert featurizer.sequence_lengths([feature, feature]).tolist() == [5, 5]  # (8 / 4)^2 patches + [CLS]


def test_texts_are_refused():
    featurizer = ImageFeaturizer(image_size=4, num_channels=1, patch_size=2)
    with pytest.raises(ValueError, match="reads images"):
        featurizer.encode_examples([Example(text="chest pain", labels=("normal",))])
