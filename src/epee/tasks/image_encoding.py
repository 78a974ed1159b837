"""Images -> ViT inputs: the same scaling for training and inference, at the backbone's image size."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.nn import functional

from epee.data.examples import ImageExample
from epee.errors import EpeeError

MAX_SHIFT = 2
"""Training images move by up to this many pixels each way: 7% of a 28-pixel MedMNIST side."""


class ImageFeaturizer:
    """Grayscale uint8 images to ``pixel_values`` in [-1, 1].

    The scaling is ``ViTImageProcessor``'s default (mean 0.5, std 0.5 after dividing by 255);
    images of another size are resized bilinearly to the backbone's ``image_size``, and the gray
    channel is repeated when the backbone expects RGB.
    """

    def __init__(self, image_size: int, num_channels: int, patch_size: int):
        self.image_size = image_size
        self.num_channels = num_channels
        self.tokens_per_image = (image_size // patch_size) ** 2 + 1  # patches + [CLS]

    def encode_examples(self, examples: Sequence[ImageExample]) -> list[dict[str, torch.Tensor]]:
        if not all(isinstance(example, ImageExample) for example in examples):
            raise EpeeError("This model reads images; the data holds texts.")
        images = torch.from_numpy(np.stack([example.image for example in examples])).float()  # [n, height, width]
        pixels = (images / 255.0 - 0.5) / 0.5
        pixels = pixels.unsqueeze(1)  # [n, 1, height, width]
        if pixels.shape[-2:] != (self.image_size, self.image_size):
            pixels = functional.interpolate(pixels, size=(self.image_size, self.image_size), mode="bilinear")
        pixels = pixels.expand(-1, self.num_channels, -1, -1)
        return [{"pixel_values": image} for image in pixels]

    def sequence_lengths(self, features: Sequence[dict[str, torch.Tensor]]) -> np.ndarray:
        return np.full(len(features), self.tokens_per_image)

    def collate(self, features: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        return {"pixel_values": torch.stack([feature["pixel_values"] for feature in features])}

    def augment(self, inputs: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Shift each image of a training batch by a random whole number of pixels in [-MAX_SHIFT, MAX_SHIFT].

        Light on purpose: a ViT trained from scratch on a few hundred images memorises them within
        a few epochs; small shifts keep every image recognisable (no flips: a chest X-ray has a
        left and a right) while no two epochs see the same pixels. Uncovered pixels repeat the border.
        """
        pixels = inputs["pixel_values"]  # [batch, channels, height, width]
        batch, _, height, width = pixels.shape
        shifts = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (batch, 2), generator=generator).float()  # [batch, (x, y)]
        theta = torch.zeros(batch, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0
        # affine_grid samples output pixel p at input p + t, in coordinates where one pixel is 2 / size.
        theta[:, 0, 2] = -2.0 * shifts[:, 0] / width
        theta[:, 1, 2] = -2.0 * shifts[:, 1] / height
        grid = functional.affine_grid(theta, list(pixels.shape), align_corners=False)
        shifted = functional.grid_sample(pixels, grid, mode="nearest", padding_mode="border", align_corners=False)
        return {**inputs, "pixel_values": shifted}
