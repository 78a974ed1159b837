"""Tiny real models for fast tests: random BERT weights with the bundled MiniLM tokenizer."""

from __future__ import annotations

from transformers import AutoModel, BertConfig

from epee.models import MultiExitModel
from epee.models.backbones import load_tokenizer


def tiny_bert_model(labels=("negative", "positive"), task="single_label", layers=3, **settings) -> MultiExitModel:
    tokenizer = load_tokenizer("minilm")
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=37,
        vocab_size=tokenizer.vocab_size,
        max_position_embeddings=128,
    )
    backbone = AutoModel.from_config(config)
    return MultiExitModel.from_backbone(backbone, label_names=list(labels), task=task, tokenizer=tokenizer, **settings)


def save_tiny_backbone(directory) -> str:
    """A tiny random BERT with the MiniLM tokenizer saved as a Hugging Face directory, for `--backbone DIR`."""
    model = tiny_bert_model()
    model.backbone.save_pretrained(directory)
    model.tokenizer.save_pretrained(directory)
    return str(directory)


def varied_tiny_model(labels=("a", "b", "c"), seed=0) -> MultiExitModel:
    """A tiny random BERT whose weights are large enough that texts differ in label and exit layer.

    With the default initialisation every text gets nearly the same flat probabilities, so every row
    would exit at the same layer and an equivalence test would compare constants.
    """
    import torch

    torch.manual_seed(seed)
    model = tiny_bert_model(labels=labels)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.normal_(0, 0.3)
    return model


def varied_texts(count: int, seed=0) -> list[str]:
    """``count`` short drug-review-like texts of 1-40 words, different lengths so length sorting matters."""
    import random

    rng = random.Random(seed)
    words = "aspirin helps pain no effect rash nausea dose daily worse better sleep headache tablet mg".split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 40))) for _ in range(count)]
