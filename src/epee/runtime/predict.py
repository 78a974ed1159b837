"""``predict``: early-exit inference over many inputs, length-aware batched, in input order."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from epee.data.examples import ImageExample
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.inputs import featurizer_for
from epee.policies import ExitPolicy, policy_from_params
from epee.policies.scores import predictions
from epee.runtime.dynamic import early_exit_forward
from epee.runtime.speed import layer_speedup
from epee.tasks.encoding import TextFeaturizer, batch_indices, check_batch_size

logger = logging.getLogger(__name__)


@dataclass
class Predictions:
    """Early-exit outputs for ``N`` inputs, in the order they were given."""

    logits: torch.Tensor  # [N, labels]
    exit_layer: torch.Tensor  # [N], 1-based backbone layer where each input left
    label_names: list[str]
    multi_label: bool
    num_layers: int

    @property
    def probabilities(self) -> torch.Tensor:
        return torch.sigmoid(self.logits) if self.multi_label else torch.softmax(self.logits, dim=-1)

    @property
    def labels(self) -> list[str] | list[tuple[str, ...]]:
        if self.multi_label:
            chosen = predictions(self.logits, multi_label=True).tolist()
            return [tuple(name for name, on in zip(self.label_names, row, strict=True) if on) for row in chosen]
        return [self.label_names[index] for index in self.logits.argmax(dim=-1).tolist()]

    @property
    def mean_exit_layer(self) -> float:
        return float(self.exit_layer.float().mean())

    @property
    def layer_speedup(self) -> float:
        """L / mean(exit layer): how many times fewer backbone layers ran than in the full model."""
        return layer_speedup(self.exit_layer, self.num_layers)


def resolve_policy(model: MultiExitModel, policy: ExitPolicy | None) -> ExitPolicy:
    """The given policy, else the checkpoint's calibrated one, else exit at the last layer."""
    if policy is not None:
        if not policy.deployable:
            raise EpeeError(f"The {policy.name} policy is an analysis bound that needs every exit; it cannot run live.")
        check_policy_fits(model, policy)
        return policy
    if model.config.policy is not None:
        stored = policy_from_params(model.config.policy)
        check_policy_fits(model, stored)
        return stored
    logger.warning("This model has no calibrated exit policy (run `epee calibrate`); every input runs all layers.")
    return policy_from_params({"name": "budget", "params": {"exit_layer": len(model.exit_layers)}})


def check_policy_fits(model: MultiExitModel, policy: ExitPolicy) -> None:
    """Refuse a fixed exit beyond the model's last one: it would silently run every layer instead."""
    exit_layer = getattr(policy.params, "exit_layer", None)
    if exit_layer is not None and exit_layer > len(model.exit_layers):
        at_layers = ""
        layers = list(model.exit_layers)
        if layers != list(range(1, len(layers) + 1)):
            contiguous = layers == list(range(layers[0], layers[-1] + 1))
            at_layers = f", at layers {layers[0]}-{layers[-1]}" if contiguous else f", at layers {layers}"
        raise EpeeError(
            f"The {policy.name} policy's exit_layer {exit_layer} is past this model's last exit "
            f"(exits 1-{len(model.exit_layers)}{at_layers}); give exit_layer={len(model.exit_layers)} or less."
        )


def check_texts(texts: Sequence[str], text_pairs: Sequence[str | None] | None) -> None:
    """The inputs a model can read: at least one, each a non-empty string; pairs, if any, one per text."""
    if isinstance(texts, str):
        raise EpeeError("predict takes a list of texts, not one string; wrap it: predict(model, [text]).")
    if len(texts) == 0:
        raise EpeeError("There is nothing to predict: the list of texts is empty.")
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise EpeeError(f"Text {position} is a {type(text).__name__}, not a string.")
        if not text.strip():
            raise EpeeError(f"Text {position} is empty; a model cannot read nothing. Remove it or fill it in.")
    if text_pairs is None:
        return
    if isinstance(text_pairs, str) or len(text_pairs) != len(texts):
        count = "one string" if isinstance(text_pairs, str) else f"{len(text_pairs)} pairs"
        raise EpeeError(f"text_pairs must hold one entry (or None) per text: {len(texts)} texts but {count}.")
    for position, pair in enumerate(text_pairs):
        if pair is not None and not isinstance(pair, str):
            raise EpeeError(f"Text pair {position} is a {type(pair).__name__}, not a string or None.")


def encode_batch(
    model: MultiExitModel, texts: Sequence[str], text_pairs: Sequence[str | None] | None = None
) -> dict[str, torch.Tensor]:
    """Model inputs for one batch of checked texts, tokenised exactly as :func:`predict` tokenises them."""
    featurizer = TextFeaturizer(model.tokenizer, model.config.max_length, model.config.truncation)
    return featurizer.collate(featurizer.encode_texts(texts, text_pairs))


def predictions_from_exits(model: MultiExitModel, logits: torch.Tensor, exit_index: torch.Tensor) -> Predictions:
    """:class:`Predictions` for rows given their logits and 0-based exit indices."""
    exit_layer = torch.as_tensor(model.exit_layers, dtype=torch.long)[exit_index.cpu()]
    config = model.config
    return Predictions(logits.float().cpu(), exit_layer, list(config.label_names), config.multi_label, model.num_layers)


def predict(
    model: MultiExitModel,
    texts: Sequence[str],
    text_pairs: Sequence[str | None] | None = None,
    *,
    policy: ExitPolicy | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> Predictions:
    """Early-exit predictions for raw texts: tokenised as in training, batched by length.

    Every input is checked first (see :func:`check_texts`), so the command line and the API refuse the same things.
    """
    if model.tokenizer is None:
        raise EpeeError("This model has no tokenizer; it takes images, not texts.")
    check_texts(texts, text_pairs)
    check_batch_size(batch_size)
    policy = resolve_policy(model, policy)
    featurizer = TextFeaturizer(model.tokenizer, model.config.max_length, model.config.truncation)
    return _predict_features(
        model, featurizer, featurizer.encode_texts(texts, text_pairs), policy, batch_size, progress
    )


def predict_images(
    model: MultiExitModel,
    images: Sequence[np.ndarray],
    *,
    policy: ExitPolicy | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> Predictions:
    """Early-exit predictions for uint8 images (gray ``[h, w]`` or RGB ``[h, w, 3]``, any size), scaled as in
    training."""
    if model.family.modality != "image":
        raise EpeeError("This model reads texts, not images; give it a table of texts.")
    if len(images) == 0:
        raise EpeeError("There is nothing to predict: the list of images is empty.")
    for position, image in enumerate(images):
        if not isinstance(image, np.ndarray):
            raise EpeeError(f"Image {position} is a {type(image).__name__}, not a numpy array.")
        ImageExample(image=image, labels=())  # the checks training images pass, with the same sentence
    check_batch_size(batch_size)
    policy = resolve_policy(model, policy)
    featurizer = featurizer_for(model)
    return _predict_features(model, featurizer, featurizer.encode_images(images), policy, batch_size, progress)


def _predict_features(
    model: MultiExitModel, featurizer, features: list, policy: ExitPolicy, batch_size: int, progress: bool
) -> Predictions:
    """The early-exit loop over encoded inputs, batched by length, results put back in input order."""
    lengths = featurizer.sequence_lengths(features)
    logits = torch.empty(len(features), model.config.num_labels)
    exit_layer = torch.empty(len(features), dtype=torch.long)
    model.eval()
    batches = list(batch_indices(len(features), batch_size, lengths=lengths))
    with tqdm(total=len(features), desc="predict", unit="row", disable=not progress) as bar:
        for rows in batches:
            output = early_exit_forward(model, featurizer.collate([features[row] for row in rows]), policy)
            index = torch.as_tensor(rows)
            logits[index], exit_layer[index] = output.logits.float().cpu(), output.exit_layers(model.exit_layers).cpu()
            bar.update(len(rows))
    return Predictions(logits, exit_layer, list(model.config.label_names), model.config.multi_label, model.num_layers)
