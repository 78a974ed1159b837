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
