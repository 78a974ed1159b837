"""Checks every text must pass before it is queued: the request limits, and text the tokenizer can read.

Errors name the input by its position and say what is wrong with it, never what it says.
"""

from __future__ import annotations

from collections.abc import Sequence

from epee.serve.errors import ServeError, limit_exceeded
from epee.serve.settings import ServeSettings


def check_texts(texts: Sequence[str], pairs: Sequence[str] | None, settings: ServeSettings) -> None:
    if not texts:
        raise ServeError(422, "The request holds no input; send at least one text.", "validation")
    if len(texts) > settings.max_texts_per_request:
        raise limit_exceeded("max_texts_per_request", len(texts), settings.max_texts_per_request, "texts")
    for field, values in (("input", texts), ("text pair", pairs or ())):
        for position, text in enumerate(values):
            if len(text) > settings.max_chars_per_text:
                raise limit_exceeded(
                    "max_chars_per_text", len(text), settings.max_chars_per_text, f"{field} {position} has characters"
                )
            if not text.strip():
                raise ServeError(422, f"The {field} at position {position} is empty.", "validation")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ServeError(
                    422,
                    f"The {field} at position {position} is not valid Unicode text (it holds a lone surrogate).",
                    "validation",
                ) from None
