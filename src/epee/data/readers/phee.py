"""PHEE pharmacovigilance events (JSON lines), as two classification tasks.

* ``phee``: does a sentence describe an adverse event, a potential therapeutic event, both or
  neither? (multi-label over the event types; a sentence without events has no labels).
* ``phee-trigger``: one example per event, its trigger wrapped in ``[E1:Trigger] ... [/E1]``
  markers; the label is the event's type. This is the event-typing step of event extraction.

Both are scored with macro-F1: about 90 % of events are adverse, so micro-F1 or accuracy would
hide a model that never recognises the therapeutic ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from epee.data.examples import Dataset, Example
from epee.data.markers import EntitySpan, all_marker_tokens, insert_entity_markers
from epee.data.sampling import SPLIT_NAMES, subsample_splits
from epee.data.tabular import Row, read_rows, require_columns, required_text
from epee.errors import EpeeError

EVENT_TYPES = ("Adverse_event", "Potential_therapeutic_event")
TRIGGER_TYPE = "Trigger"


def load_phee(folder: Path, *, max_examples: int | Mapping[str, int] | None = None, seed: int = 0) -> Dataset:
    """Sentence-level event-type detection: the set of event types annotated in each sentence."""
    splits = {}
    for name in SPLIT_NAMES:
        path = folder / f"{name}.json"
        splits[name] = [
            Example(
                text=required_text(row, "context", str(path)),
                labels=tuple(sorted({event["event_type"] for event in _events(row, str(path))})),
                group=str(row.values["id"]),
            )
            for row in _records(path)
        ]
    return Dataset(
        name="phee",
        task="multi_label",
        label_names=list(EVENT_TYPES),
        metric="multilabel_macro_f1",
        **subsample_splits(splits, max_examples, seed=seed),
    )


def load_phee_trigger(folder: Path, *, max_examples: int | Mapping[str, int] | None = None, seed: int = 0) -> Dataset:
    """Event typing: one example per event, trigger marked in the sentence, label = event type."""
    splits = {}
    for name in SPLIT_NAMES:
        path = folder / f"{name}.json"
        splits[name] = [
            Example(
                text=insert_entity_markers(
                    required_text(row, "context", str(path)), [_trigger_span(row, event, str(path))]
                ).text,
                labels=(event["event_type"],),
                group=str(row.values["id"]),
            )
            for row in _records(path)
            for event in _events(row, str(path))
        ]
    return Dataset(
        name="phee-trigger",
        task="single_label",
        label_names=list(EVENT_TYPES),
        metric="macro_f1",
        special_tokens=all_marker_tokens([TRIGGER_TYPE], max_entities=1),
        **subsample_splits(splits, max_examples, seed=seed),
    )


def _records(path: Path) -> list[Row]:
    rows = read_rows(path, format="jsonl")  # PHEE's .json files hold one JSON object per line
    require_columns(rows, ("id", "context", "annotations"), str(path))
    return rows


def _events(row: Row, source: str) -> list[dict[str, Any]]:
    annotations = row.values["annotations"]
    first = annotations[0] if isinstance(annotations, list) and annotations else None
    events = first.get("events") if isinstance(first, dict) else None
    if not isinstance(events, list) or not all(
        isinstance(event, dict) and {"event_type", "Trigger"} <= event.keys() for event in events
    ):
        raise EpeeError(
            f"{row.where(source)} does not follow the PHEE layout: expected annotations[0].events[], each event "
            f"with 'event_type' and 'Trigger'."
        )
    return events


def _trigger_span(row: Row, event: dict[str, Any], source: str) -> EntitySpan:
    """The characters from the first to the last fragment of the trigger (PHEE stores fragments as lists)."""
    context = row.values["context"]
    trigger = event["Trigger"]
    if not isinstance(trigger, dict) or not {"text", "start"} <= trigger.keys():
        raise EpeeError(f"{row.where(source)} has a trigger without 'text' and 'start' lists: {trigger!r}.")
    texts = [text for group in trigger["text"] for text in group]
    starts = [start for group in trigger["start"] for start in group]
    if len(texts) != len(starts):
        raise EpeeError(f"{row.where(source)} has a trigger with {len(texts)} texts but {len(starts)} offsets.")
    fragments = list(zip(starts, texts, strict=True))
    for start, text in fragments:
        if context[start : start + len(text)] != text:
            raise EpeeError(
                f"{row.where(source)}: trigger {text!r} at offset {start} does not match the sentence there "
                f"({context[start : start + len(text)]!r})."
            )
    if not fragments:
        raise EpeeError(f"{row.where(source)} has an event without a trigger span.")
    return EntitySpan(
        start=min(start for start, _ in fragments),
        end=max(start + len(text) for start, text in fragments),
        entity_type=TRIGGER_TYPE,
    )
