"""Validation of policy parameters, so a bad value fails when the policy is built, in one sentence.

Each check raises ``ValueError`` naming the policy, the parameter, the allowed values and the
value received; they are called from the ``__post_init__`` of the frozen parameter dataclasses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from epee.errors import EpeeError


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fail(policy: str, name: str, requirement: str, value: Any) -> None:
    raise EpeeError(f"The {policy} policy's {name} must be {requirement}; got {value!r}.")


def check_non_negative(policy: str, name: str, value: Any) -> None:
    """A finite number >= 0 (thresholds on entropy, divergence, aggregated confidence)."""
    if not _is_number(value) or value < 0:
        _fail(policy, name, "a finite number >= 0", value)


def check_unit_interval(policy: str, name: str, value: Any) -> None:
    """A number in [0, 1] (thresholds on probabilities)."""
    if not _is_number(value) or not 0 <= value <= 1:
        _fail(policy, name, "a number in [0, 1]", value)


def check_count(policy: str, name: str, value: Any, minimum: int = 0) -> None:
    """An integer >= ``minimum`` (patience, exit indices, numbers of exits)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(policy, name, f"an integer >= {minimum}", value)


def check_choice(policy: str, name: str, value: Any, allowed: Sequence[str]) -> None:
    """One of the named options."""
    if value not in allowed:
        _fail(policy, name, f"one of {tuple(allowed)}", value)


def check_number_tuple(policy: str, name: str, values: Sequence[Any], *, upper: float | None = None) -> None:
    """A non-empty sequence of finite numbers >= 0 (and <= ``upper`` when given)."""
    requirement = "a non-empty sequence of numbers >= 0" + (f" and <= {upper}" if upper is not None else "")
    if isinstance(values, str) or not isinstance(values, Sequence) or len(values) == 0:
        _fail(policy, name, requirement, values)
    for value in values:
        if not _is_number(value) or value < 0 or (upper is not None and value > upper):
            _fail(policy, name, requirement, values)
