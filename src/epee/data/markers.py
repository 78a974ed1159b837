"""Show a sentence classifier *which* entities a relation or event is about.

Relation and event tasks become sentence classification once the entities are marked in the text:
either wrapped in typed markers (``[E1:Chemical] aspirin [/E1]``, the "entity marker" input of
Baldini Soares et al. 2019, which keeps the entity's words) or replaced by a mask token
(``@DRUG$`` as in the BLURB DDI files, which stops a model from memorising entity names).
Both return the marker strings, which must be added to the tokenizer as special tokens so they are
not split into word pieces.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from epee.errors import EpeeError


@dataclass(frozen=True)
class EntitySpan:
    """Characters ``text[start:end]`` of one entity mention and its type (e.g. ``"Chemical"``)."""

    start: int
    end: int
    entity_type: str


@dataclass(frozen=True)
class MarkedText:
    """The rewritten text and the marker strings it contains, in order of first use."""

    text: str
    special_tokens: tuple[str, ...]


def opening_marker(entity_number: int, entity_type: str) -> str:
    """The typed marker before the ``entity_number``-th (1-based) entity, e.g. ``[E1:Chemical]``."""
    return f"[E{entity_number}:{entity_type}]"


def closing_marker(entity_number: int) -> str:
    """The marker after the ``entity_number``-th entity, e.g. ``[/E1]``."""
    return f"[/E{entity_number}]"


def all_marker_tokens(entity_types: Iterable[str], max_entities: int = 2) -> tuple[str, ...]:
    """Every marker a dataset can produce, to register with a tokenizer before training."""
    types = sorted(set(entity_types))
    tokens: list[str] = []
    for number in range(1, max_entities + 1):
        tokens += [opening_marker(number, entity_type) for entity_type in types] + [closing_marker(number)]
    return tuple(tokens)


def insert_entity_markers(text: str, spans: Sequence[EntitySpan]) -> MarkedText:
    """Wrap each span in typed markers numbered by its position in ``spans`` (E1, E2, ...).

    A space separates markers from the entity so tokenizers never glue them to its first word piece.
    """
    ordered = _validated(text, spans)
    pieces: list[str] = []
    cursor = 0
    for number, span in ordered:
        opening, closing = opening_marker(number, span.entity_type), closing_marker(number)
        pieces += [text[cursor : span.start], f"{opening} {text[span.start : span.end]} {closing}"]
        cursor = span.end
    pieces.append(text[cursor:])
    used: list[str] = []
    for number, span in sorted(ordered, key=lambda item: item[0]):
        used += [opening_marker(number, span.entity_type), closing_marker(number)]
    return MarkedText("".join(pieces), tuple(dict.fromkeys(used)))


def _validated(text: str, spans: Sequence[EntitySpan]) -> list[tuple[int, EntitySpan]]:
    """(1-based number, span) pairs in text order, after checking bounds and overlaps."""
    if not spans:
        raise EpeeError("No entity spans were given; mark at least one entity.")
    for span in spans:
        if not 0 <= span.start < span.end <= len(text):
            raise EpeeError(
                f"Entity span [{span.start}, {span.end}) of type {span.entity_type!r} does not lie inside the text "
                f"of length {len(text)}; spans need 0 <= start < end <= length."
            )
    ordered = sorted(enumerate(spans, start=1), key=lambda item: (item[1].start, item[1].end))
    for (_, previous), (_, current) in zip(ordered, ordered[1:], strict=False):
        if current.start < previous.end:
            raise EpeeError(
                f"Entity spans [{previous.start}, {previous.end}) and [{current.start}, {current.end}) overlap; "
                f"markers and masks need disjoint spans."
            )
    return ordered
