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
