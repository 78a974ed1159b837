"""Policy parameters declared with their constraints, so a bad value fails when built and tests can generate one.

A policy's parameters are a frozen dataclass deriving from :class:`PolicyParams`; every field is
declared with :func:`parameter`, which records a :class:`Constraint` (a number range, a choice, a
flag, a sequence of numbers, ...). :meth:`PolicyParams.__post_init__` checks every field against
its constraint and raises :class:`~epee.errors.EpeeError` (a ``ValueError``) naming the policy,
the parameter, what is allowed and the value received. Because constraints are data,
:func:`epee.policies.testing.check_policy` asks each one for values it must refuse
(:meth:`Constraint.invalid_examples`) and checks that they are refused. Rules that tie several
fields together (BEEM's weight schemes) stay in the subclass's ``__post_init__``, after
``super().__post_init__()``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from epee.errors import EpeeError

CONSTRAINT_KEY = "epee_constraint"
"""Key of a field's metadata that holds its :class:`Constraint`."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _format_bound(value: float) -> str:
    return f"{value:g}"


class Constraint(ABC):
    """What values one parameter accepts, as a sentence, a test, and examples it refuses."""

    @property
    @abstractmethod
    def requirement(self) -> str:
        """The allowed values, as the end of "X must be ...", e.g. ``"a number in [0, 1)"``."""

    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is allowed."""

    @abstractmethod
    def invalid_examples(self) -> tuple[Any, ...]:
        """Values this constraint refuses: what conformance tests feed to the parameter."""

    def normalise(self, value: Any) -> Any:
        """The accepted ``value`` as stored (e.g. a list of numbers as a tuple of floats); unchanged by default."""
        return value

    def validate(self, policy: str, name: str, value: Any) -> Any:
        """The stored form of ``value``, or an EpeeError naming the policy, the parameter and the requirement."""
        if not self.accepts(value):
            raise EpeeError(f"The {policy} policy's {name} must be {self.requirement}; got {value!r}.")
        return self.normalise(value)


@dataclass(frozen=True)
class Number(Constraint):
    """A finite number (or an ``integer``) between optional bounds, each bound closed unless marked open."""

    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    open_minimum: bool = False
    open_maximum: bool = False

    def bounds(self) -> str:
        """The bounds alone, e.g. ``">= 0"`` or ``"in [0, 1)"``; empty when unbounded."""
        if self.minimum is not None and self.maximum is not None:
            left, right = "(" if self.open_minimum else "[", ")" if self.open_maximum else "]"
            return f"in {left}{_format_bound(self.minimum)}, {_format_bound(self.maximum)}{right}"
        if self.minimum is not None:
            return f"{'>' if self.open_minimum else '>='} {_format_bound(self.minimum)}"
        if self.maximum is not None:
            return f"{'<' if self.open_maximum else '<='} {_format_bound(self.maximum)}"
        return ""

    @property
    def requirement(self) -> str:
        if self.integer:
            kind = "an integer"
        elif self.minimum is not None and self.maximum is not None:
            kind = "a number"  # finiteness is implied by two bounds
        else:
            kind = "a finite number"
        return f"{kind} {self.bounds()}".rstrip()

    def accepts(self, value: Any) -> bool:
        if self.integer and (isinstance(value, bool) or not isinstance(value, int)):
            return False
        if not _is_number(value):
            return False
        if self.minimum is not None and (value <= self.minimum if self.open_minimum else value < self.minimum):
            return False
        return self.maximum is None or not (value >= self.maximum if self.open_maximum else value > self.maximum)

    def invalid_examples(self) -> tuple[Any, ...]:
        examples: list[Any] = ["1", None, True, float("nan")]
        step = 1 if self.integer else 0.5
        if self.integer:
            examples.append(1.5 + (self.minimum or 0))
        if self.minimum is not None:
            examples.append(self.minimum if self.open_minimum else self.minimum - step)
        if self.maximum is not None:
            examples.append(self.maximum if self.open_maximum else self.maximum + step)
        else:
            examples.append(float("inf"))
        return tuple(examples)


@dataclass(frozen=True)
class Choice(Constraint):
    """One of a few named options."""

    options: tuple[str, ...]

    @property
    def requirement(self) -> str:
        return f"one of {self.options}"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options

    def invalid_examples(self) -> tuple[Any, ...]:
        return ("none of " + "|".join(self.options), None, 0)


@dataclass(frozen=True)
class Flag(Constraint):
    """True or False, and nothing merely truthy."""

    @property
    def requirement(self) -> str:
        return "True or False"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def invalid_examples(self) -> tuple[Any, ...]:
        return ("yes", 1, None)


@dataclass(frozen=True)
class Numbers(Constraint):
    """A non-empty sequence whose every item meets ``item``; stored as a tuple of floats."""

    item: Number

    @property
    def requirement(self) -> str:
        return f"a non-empty sequence of numbers {self.item.bounds()}".rstrip()

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str) or not isinstance(value, Sequence) or len(value) == 0:
            return False
        return all(self.item.accepts(item) for item in value)

    def normalise(self, value: Any) -> tuple[float, ...]:
        return tuple(float(item) for item in value)

    def invalid_examples(self) -> tuple[Any, ...]:
        numeric = [
            example
            for example in self.item.invalid_examples()
            if isinstance(example, int | float) and not isinstance(example, bool)
        ]
        return ((), "0.5", None, *([0.5, example] for example in numeric))


@dataclass(frozen=True)
class AnyOf(Constraint):
    """A value any of the ``alternatives`` accepts, stored as the first accepting one stores it."""

    alternatives: tuple[Constraint, ...]

    @property
    def requirement(self) -> str:
        return " or ".join(alternative.requirement for alternative in self.alternatives)

    def accepts(self, value: Any) -> bool:
        return any(alternative.accepts(value) for alternative in self.alternatives)

    def normalise(self, value: Any) -> Any:
        return next(alternative for alternative in self.alternatives if alternative.accepts(value)).normalise(value)

    def invalid_examples(self) -> tuple[Any, ...]:
        candidates = (example for alternative in self.alternatives for example in alternative.invalid_examples())
        return tuple(example for example in candidates if not self.accepts(example))


@dataclass(frozen=True)
class OrNone(Constraint):
    """``None`` (the parameter is unused) or a value ``inner`` accepts."""

    inner: Constraint

    @property
    def requirement(self) -> str:
        return f"{self.inner.requirement} or None"

    def accepts(self, value: Any) -> bool:
        return value is None or self.inner.accepts(value)

    def normalise(self, value: Any) -> Any:
        return None if value is None else self.inner.normalise(value)

    def invalid_examples(self) -> tuple[Any, ...]:
        return tuple(example for example in self.inner.invalid_examples() if example is not None)


def parameter(constraint: Constraint, default: Any = MISSING) -> Any:
    """A dataclass field checked against ``constraint`` (required unless a ``default`` is given)."""
    return field(default=default, metadata={CONSTRAINT_KEY: constraint})


def constraints_of(params_type: type) -> dict[str, Constraint | None]:
    """Every field of a parameter dataclass with its declared constraint (None where a field declares none)."""
    return {item.name: item.metadata.get(CONSTRAINT_KEY) for item in fields(params_type)}


@dataclass(frozen=True)
class PolicyParams:
    """Base of every policy's frozen parameter dataclass: checks each field against its declared constraint.

    ``policy_name`` is set from the policy class that uses these parameters (see
    :class:`epee.policies.base.ExitPolicy`); error messages name it.
    """

    policy_name: ClassVar[str] = "unnamed"

    def __post_init__(self) -> None:
        for name, constraint in constraints_of(type(self)).items():
            if constraint is None:
                continue
            value = getattr(self, name)
            stored = constraint.validate(self.policy_name, name, value)
            if stored is not value:
                object.__setattr__(self, name, stored)
