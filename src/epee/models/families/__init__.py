"""One class per backbone family, found from the Hugging Face ``config.model_type``."""

from __future__ import annotations

from transformers import PreTrainedModel

from epee.errors import EpeeError
from epee.models.families.albert import AlbertFamily
from epee.models.families.base import BackboneFamily, LayerState
from epee.models.families.bert import BertLikeFamily
from epee.models.families.distilbert import DistilBertFamily
from epee.models.families.gpt2 import GPT2Family
from epee.models.families.llama import LlamaLikeFamily
from epee.models.families.mpnet import MPNetFamily
from epee.models.families.vit import ViTFamily

FAMILY_CLASSES: tuple[type[BackboneFamily], ...] = (
    BertLikeFamily,
    AlbertFamily,
    DistilBertFamily,
    MPNetFamily,
    GPT2Family,
    LlamaLikeFamily,
    ViTFamily,
)


def family_class_for(model_type: str) -> type[BackboneFamily]:
    """The family class serving ``model_type``, or a clear error naming what is supported."""
    for family_class in FAMILY_CLASSES:
        if model_type in family_class.model_types:
            return family_class
    supported = ", ".join(f"{cls.display_name} ({', '.join(cls.model_types)})" for cls in FAMILY_CLASSES)
    raise EpeeError(f"Backbone architecture {model_type!r} is not supported; supported families are: {supported}.")


def build_family(backbone: PreTrainedModel, pooling: str | None = None) -> BackboneFamily:
    """Wrap ``backbone`` in the family of its family."""
    return family_class_for(backbone.config.model_type)(backbone, pooling=pooling)


__all__ = ["FAMILY_CLASSES", "BackboneFamily", "LayerState", "family_class_for", "build_family"]
