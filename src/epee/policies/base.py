"""The exit-policy contract that offline simulation and the runtime both drive.

A policy holds its parameters (a frozen, validated dataclass) and nothing else. Per-sample memory
lives in a :class:`PolicyState` created by :meth:`ExitPolicy.start` for one batch. The driver
calls :meth:`ExitPolicy.step` once per exit, in order, with that exit's logits for the rows still
running; the policy updates the state and says which rows exit now. Finished rows leave the batch
through :meth:`PolicyState.select`, exactly as the runtime drops them from the hidden states.

Policies never force the last exit themselves: drivers call :func:`step_with_fallback`, so
every policy falls back to the last exit in the same way, offline and online.

A policy class carries everything else epee needs to know about it: its parameter constraints
(on its :class:`~epee.policies.params.PolicyParams` fields), the grid calibration searches by
default (:meth:`ExitPolicy.default_grid`) and, optionally, its rule restated over a whole table of
exits for fast calibration (:meth:`ExitPolicy.fire_table`). Decorated with
:func:`~epee.policies.registry.register_policy`, it is known by name everywhere; check it with
:func:`epee.policies.testing.check_policy`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from epee.errors import EpeeError
from epee.policies.params import PolicyParams

if TYPE_CHECKING:
    from epee.policies.tables import ExitTables

Grid = list[dict[str, Any]]
"""Parameter points, each the keyword arguments of one policy's parameters."""


def _row_count(rows: torch.Tensor) -> int:
    return int(rows.sum()) if rows.dtype == torch.bool else rows.numel()


@dataclass
class PolicyState:
    """Per-sample memory of a policy for one batch; every tensor has the batch on dim 0.

    ``tensors`` is owned by the policy (counters, the previous exit's prediction, ...);
    ``batch_size`` lets :meth:`ExitPolicy.step` catch a driver that forgot to drop finished rows.
    """

    batch_size: int
    multi_label: bool
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    def select(self, rows: torch.Tensor) -> PolicyState:
        """Keep only ``rows`` (indices or a boolean mask): how finished samples leave the batch."""
        return PolicyState(
            batch_size=_row_count(rows),
            multi_label=self.multi_label,
            tensors={name: value[rows] for name, value in self.tensors.items()},
        )

    @staticmethod
    def concat(states: Sequence[PolicyState]) -> PolicyState:
        """The rows of several states of one policy that took the same exits, as one (rows join mid-depth)."""
        names = set(states[0].tensors)
        if any(set(state.tensors) != names for state in states):
            raise EpeeError("Policy states that took different exits cannot join one batch.")
        return PolicyState(
            batch_size=sum(state.batch_size for state in states),
            multi_label=states[0].multi_label,
            tensors={name: torch.cat([state.tensors[name] for state in states]) for name in names},
        )


class ExitPolicy(ABC):
    """Base class of all exit policies; subclasses set ``name`` and ``params_type`` and implement ``_step``.

    For calibration they also give :meth:`default_grid` and, to be fast, :meth:`fire_table`.
    """

    name: ClassVar[str]
    """Registry name, the word used by the CLI, config files and checkpoints."""
    params_type: ClassVar[type[PolicyParams]]
    """The frozen :class:`~epee.policies.params.PolicyParams` dataclass holding this policy's parameters."""
    deployable: ClassVar[bool] = True
    """False for analysis-only policies (the oracle) that need every exit's logits at once."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Let the parameter dataclass name this policy in its error messages."""
        super().__init_subclass__(**kwargs)
        params_type = cls.__dict__.get("params_type")
        name = cls.__dict__.get("name")
        if isinstance(params_type, type) and issubclass(params_type, PolicyParams) and isinstance(name, str):
            if "policy_name" not in params_type.__dict__:
                params_type.policy_name = name

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid | None:
        """The parameter points calibration searches unless told otherwise; None when the policy has no grid.

        ``error_rates`` are the validation error rates of the model's exits, one per exit, so a grid
        can depend on the number of exits (patience, budget) or on how good each exit is (BEEM).
        """
        return None

    @classmethod
    def upgrade_stored(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """Parameters stored by an earlier version of this policy (a checkpoint's ``policy.json``) in today's names.

        The default keeps them as they are; a policy that renames a parameter maps the old name here, so
        old checkpoints keep loading while users only ever see the new name.
        """
        return dict(params)

    def fire_table(self, tables: ExitTables) -> torch.Tensor | None:
        """Where this policy fires at each exit ``[exits, batch]`` (before the last-exit fallback), or None.

        The same decisions as stepping the policy, computed over a whole table of cached exits from
        threshold-free scores that :class:`~epee.policies.tables.ExitTables` computes once per grid,
        which makes calibration over hundreds of points fast. None (the default) means calibration
        steps the policy through :func:`~epee.policies.simulate` instead: correct, only slower.
        """
        return None

    def __init__(self, params: Any) -> None:
        if not isinstance(params, self.params_type):
            raise TypeError(
                f"The {self.name} policy is built from {self.params_type.__name__}; got {type(params).__name__}."
            )
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.params == self.params

    def __hash__(self) -> int:
        return hash((type(self), self.params))

    def start(self, batch_size: int, *, multi_label: bool, device: torch.device | None = None) -> PolicyState:
        """Fresh per-sample state for a batch of ``batch_size`` samples that have seen no exit yet."""
        device = torch.device("cpu") if device is None else torch.device(device)
        tensors = self._initial_tensors(batch_size, device)
        return PolicyState(batch_size=batch_size, multi_label=multi_label, tensors=tensors)

    def step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        """Update ``state`` with exit ``exit_index``'s logits ``[batch, classes]``; return who exits now ``[batch]``.

        ``exit_index`` counts exits from 0 in the order they are reached; every exit is stepped
        once, and only the rows still running are passed (see :meth:`PolicyState.select`).
        """
        if logits.dim() != 2 or logits.shape[0] != state.batch_size:
            raise EpeeError(
                f"The {self.name} policy expects logits of shape [batch={state.batch_size}, classes]; "
                f"got {tuple(logits.shape)}. Pass only the rows still running, after state.select()."
            )
        return self._step(state, exit_index, logits)

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        """The per-sample tensors this policy needs before the first exit (none by default)."""
        return {}

    @abstractmethod
    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        """The policy's rule: update ``state.tensors`` and return a bool tensor ``[batch]``."""


def step_with_fallback(
    policy: ExitPolicy, state: PolicyState, exit_index: int, num_exits: int, logits: torch.Tensor
) -> torch.Tensor:
    """:meth:`ExitPolicy.step`, except that every row exits at the last exit: the one fallback rule for all drivers."""
    if not 0 <= exit_index < num_exits:
        raise EpeeError(f"Exit index {exit_index} is out of range for a model with {num_exits} exits.")
    exits_now = policy.step(state, exit_index, logits)
    if exit_index == num_exits - 1:
        return torch.ones_like(exits_now)
    return exits_now
