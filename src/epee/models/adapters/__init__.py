"""One adapter per backbone family, found from the Hugging Face ``config.model_type``."""

from __future__ import annotations

from transformers import PreTrainedModel

from epee.models.adapters.albert import AlbertAdapter
from epee.models.adapters.base import BackboneAdapter, LayerState
from epee.models.adapters.bert import BertLikeAdapter
from epee.models.adapters.distilbert import DistilBertAdapter
from epee.models.adapters.gpt2 import GPT2Adapter
from epee.models.adapters.llama import LlamaLikeAdapter
from epee.models.adapters.mpnet import MPNetAdapter
from epee.models.adapters.vit import ViTAdapter

ADAPTER_CLASSES: tuple[type[BackboneAdapter], ...] = (
    BertLikeAdapter,
    AlbertAdapter,
    DistilBertAdapter,
    MPNetAdapter,
    GPT2Adapter,
    LlamaLikeAdapter,
    ViTAdapter,
)


def adapter_class_for(model_type: str) -> type[BackboneAdapter]:
    """The adapter class serving ``model_type``, or a clear error naming what is supported."""
    for adapter_class in ADAPTER_CLASSES:
        if model_type in adapter_class.model_types:
            return adapter_class
    supported = ", ".join(f"{cls.family} ({', '.join(cls.model_types)})" for cls in ADAPTER_CLASSES)
    raise ValueError(f"Backbone architecture {model_type!r} is not supported; supported families are: {supported}.")


def build_adapter(backbone: PreTrainedModel, pooling: str | None = None) -> BackboneAdapter:
    """Wrap ``backbone`` in the adapter of its family."""
    return adapter_class_for(backbone.config.model_type)(backbone, pooling=pooling)


__all__ = ["ADAPTER_CLASSES", "BackboneAdapter", "LayerState", "adapter_class_for", "build_adapter"]
