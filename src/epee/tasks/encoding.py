"""Texts -> model inputs: tokenisation with a truncation strategy, label vectors, padded batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from epee.errors import EpeeError


@dataclass
class EncodedSplit:
    """Model inputs per example (unpadded token ids, or an image) and label targets, ready to be cut into batches.

    ``lengths`` counts the tokens each example puts through a layer: batches are sorted by it, and
    FLOPs are computed from it.
    """

    features: list[dict[str, Any]]
    labels: torch.Tensor | None  # [examples] class ids, or [examples, labels] 0/1 floats for multi-label
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, rows: Sequence[int]) -> EncodedSplit:
        labels = None if self.labels is None else self.labels[torch.as_tensor(rows, dtype=torch.long)]
        return EncodedSplit([self.features[row] for row in rows], labels, self.lengths[np.asarray(rows, dtype=int)])


class TextFeaturizer:
    """Tokenises texts (and optional text pairs) the same way for training and inference.

    ``truncation="head_tail"`` keeps the first quarter and the last three quarters of the token
    budget (Sun et al. 2019, "How to fine-tune BERT for text classification"), which suits
    clinical notes whose conclusion sits at the end.
    """

    def __init__(self, tokenizer, max_length: int = 128, truncation: str = "head"):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.truncation = truncation

    def encode_examples(self, examples: Sequence[Any]) -> list[dict[str, list[int]]]:
        if not all(hasattr(example, "text") for example in examples):
            raise EpeeError("This model reads texts; the data holds images.")
        return self.encode_texts([example.text for example in examples], [example.text_pair for example in examples])

    def sequence_lengths(self, features: Sequence[dict[str, list[int]]]) -> np.ndarray:
        return np.array([len(feature["input_ids"]) for feature in features])

    def encode_texts(
        self, texts: Sequence[str], pairs: Sequence[str | None] | None = None
    ) -> list[dict[str, list[int]]]:
        if pairs is not None and any(pair is not None for pair in pairs):
            if self.truncation != "head":
                raise EpeeError("head_tail truncation applies to single texts; use truncation='head' for text pairs.")
            encoded = self.tokenizer(
                list(texts), [pair or "" for pair in pairs], truncation=True, max_length=self.max_length
            )
        elif self.truncation == "head":
            encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        else:
            return [self._head_tail(text) for text in texts]
        return [dict(zip(encoded.keys(), values, strict=True)) for values in zip(*encoded.values(), strict=True)]

    def _head_tail(self, text: str) -> dict[str, list[int]]:
        """Cut the text at token boundaries (via character offsets), then tokenise it as usual,
        so special tokens and token types come from the tokenizer itself."""
        offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        budget = self.max_length - self.tokenizer.num_special_tokens_to_add(pair=False)
        if len(offsets) > budget:
            head = budget // 4
            text = text[: offsets[head - 1][1]] + " " + text[offsets[len(offsets) - (budget - head)][0] :]
        encoded = self.tokenizer(text, truncation=True, max_length=self.max_length)
        return dict(encoded)

    def collate(self, features: Sequence[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        """Pad one batch to its own longest sequence."""
        return dict(self.tokenizer.pad(list(features), return_tensors="pt"))


def label_targets(labels: Sequence[Sequence[str]], label_names: Sequence[str], multi_label: bool) -> torch.Tensor:
    """Class ids ``[examples]`` (single-label) or a 0/1 matrix ``[examples, labels]`` (multi-label)."""
    index = {name: position for position, name in enumerate(label_names)}
    unknown = sorted({label for example in labels for label in example if label not in index})
    if unknown:
        raise EpeeError(f"Labels {unknown} are not among the model's labels {list(label_names)}.")
    if multi_label:
        targets = torch.zeros(len(labels), len(label_names))
        for row, example in enumerate(labels):
            targets[row, [index[label] for label in example]] = 1.0
        return targets
    if any(len(example) != 1 for example in labels):
        raise EpeeError("A single-label task needs exactly one label per example.")
    return torch.tensor([index[example[0]] for example in labels])


def batch_indices(
    count: int, batch_size: int, *, shuffle_seed: int | None = None, lengths: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Row indices of each batch: shuffled for training, or sorted by length so padding is minimal.

    The batch size is checked here, where every path (train, calibrate, predict) batches, and at once.
    """
    check_batch_size(batch_size)
    return _batches(count, batch_size, shuffle_seed, lengths)


def check_batch_size(batch_size: int) -> None:
    """A batch size below 1 would make no batches at all, and outputs from uninitialised memory."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise EpeeError(f"The batch size must be a positive whole number of rows, got {batch_size!r}.")


def _batches(count: int, batch_size: int, shuffle_seed: int | None, lengths: np.ndarray | None) -> Iterator[np.ndarray]:
    if lengths is not None:
        order = np.argsort(-lengths, kind="stable")
    elif shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(count)
    else:
        order = np.arange(count)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]
