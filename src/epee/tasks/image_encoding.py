"""Images -> ViT inputs: the same scaling for training and inference, at the backbone's image size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch
from torch.nn import functional

from epee.data.examples import ImageExample
from epee.errors import EpeeError

MAX_SHIFT = 2
"""Training images move by up to this many pixels each way: 7% of a 28-pixel MedMNIST side."""

LUMA_WEIGHTS = torch.tensor([0.299, 0.587, 0.114])
"""RGB -> gray as ITU-R 601-2 (Pillow's ``convert("L")``); the weights sum to 1, so [-1, 1] stays [-1, 1]."""


class ImageFeaturizer:
    """Grayscale or RGB uint8 images of any size to ``pixel_values`` in [-1, 1] at the backbone's size.

    The scaling is ``ViTImageProcessor``'s default (mean 0.5, std 0.5 after dividing by 255), and
    so is the resize: bilinear to the backbone's square ``image_size``, whatever the aspect ratio.
    A gray image is repeated over the channels when the backbone expects RGB; an RGB image meets a
    one-channel backbone as its luma (ITU-R 601-2 weights, Pillow's ``convert("L")``).
    """

    def __init__(self, image_size: int, num_channels: int, patch_size: int):
        if num_channels not in (1, 3):
            raise EpeeError(f"An image backbone reads 1 (gray) or 3 (RGB) channels, this one {num_channels}.")
        self.image_size = image_size
        self.num_channels = num_channels
        self.tokens_per_image = (image_size // patch_size) ** 2 + 1  # patches + [CLS]

    def encode_examples(self, examples: Sequence[ImageExample]) -> list[dict[str, torch.Tensor]]:
        if not all(isinstance(example, ImageExample) for example in examples):
            raise EpeeError("This model reads images; the data holds texts.")
        return self.encode_images([example.image for example in examples])

    def encode_images(self, images: Sequence[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        """``pixel_values`` per image, in order; images of one shape are converted together."""
        encoded: list[dict[str, torch.Tensor]] = [{} for _ in images]
        by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for position, image in enumerate(images):
            by_shape[image.shape].append(position)
        for positions in by_shape.values():
            pixels = self._pixel_values(torch.from_numpy(np.stack([images[position] for position in positions])))
            for position, image_pixels in zip(positions, pixels, strict=True):
                encoded[position] = {"pixel_values": image_pixels}
        return encoded

    def _pixel_values(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``[n, height, width(, 3)]`` -> float ``[n, num_channels, image_size, image_size]``."""
        pixels = (images.float() / 255.0 - 0.5) / 0.5
        pixels = pixels.permute(0, 3, 1, 2) if pixels.ndim == 4 else pixels.unsqueeze(1)  # [n, 1 or 3, h, w]
        if pixels.shape[1] == 3 and self.num_channels == 1:
            pixels = (pixels * LUMA_WEIGHTS.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
        if pixels.shape[-2:] != (self.image_size, self.image_size):
            pixels = functional.interpolate(pixels, size=(self.image_size, self.image_size), mode="bilinear")
        return pixels.expand(-1, self.num_channels, -1, -1)

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
