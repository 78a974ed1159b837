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


def test_augmentation_shifts_each_image_by_at_most_two_whole_pixels():
    featurizer = ImageFeaturizer(image_size=8, num_channels=1, patch_size=4)
    pixels = torch.arange(64.0).reshape(1, 1, 8, 8).repeat(16, 1, 1, 1)  # [16, 1, 8, 8], every pixel distinct
    shifted = featurizer.augment({"pixel_values": pixels}, torch.Generator().manual_seed(0))["pixel_values"]
    padded = torch.nn.functional.pad(pixels[:1], (2, 2, 2, 2), mode="replicate")[0, 0]  # [12, 12]
    candidates = {(dx, dy): padded[2 - dy : 10 - dy, 2 - dx : 10 - dx] for dx in range(-2, 3) for dy in range(-2, 3)}
    found = set()
    for image in shifted[:, 0]:
        matches = [shift for shift, candidate in candidates.items() if torch.equal(image, candidate)]
        assert len(matches) == 1  # exactly one whole-pixel shift, borders repeated
        found.add(matches[0])
    assert len(found) > 1  # the batch is not shifted as one
    again = featurizer.augment({"pixel_values": pixels}, torch.Generator().manual_seed(0))["pixel_values"]
    assert torch.equal(shifted, again)  # seeded: a training run repeats itself


def test_rgb_and_mixed_sizes_keep_their_order():
    """Images of several shapes in one call come back in input order, each resized and channel-matched."""
    red = ImageExample(image=np.zeros((6, 10, 3), dtype=np.uint8), labels=("normal",))
    red.image[..., 0] = 255
    gray = _image(255, size=4)
    rgb_model = ImageFeaturizer(image_size=4, num_channels=3, patch_size=2)
    red_pixels, gray_pixels = (feature["pixel_values"] for feature in rgb_model.encode_examples([red, gray]))
    assert tuple(red_pixels.shape) == (3, 4, 4)
    assert torch.equal(red_pixels[0], torch.ones(4, 4)) and torch.equal(red_pixels[1], -torch.ones(4, 4))
    assert torch.equal(gray_pixels, torch.ones(3, 4, 4))
    gray_model = ImageFeaturizer(image_size=4, num_channels=1, patch_size=2)
    (luma,) = gray_model.encode_examples([red])
    # Pure red is luma 0.299 of white: 2 * 0.299 - 1 in [-1, 1].
    assert torch.allclose(luma["pixel_values"], torch.full((1, 4, 4), 2 * 0.299 - 1), atol=1e-6)
