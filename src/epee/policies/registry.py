"""Policies by name, and their parameters as JSON, so CLI, configs and checkpoints say the same words.

A policy joins the registry by decorating its class with :func:`register_policy`; that is all a
new policy needs (besides its own file and tests) to be built by name, stored in checkpoints and
calibrated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from epee.errors import EpeeError
from epee.policies.base import ExitPolicy
from epee.policies.params import PolicyParams

_REGISTRY: dict[str, type[ExitPolicy]] = {}

POLICIES: Mapping[str, type[ExitPolicy]] = MappingProxyType(_REGISTRY)
"""Every registered policy class by its registry name, in the order they registered (a live, read-only view)."""

PolicyClass = TypeVar("PolicyClass", bound=type[ExitPolicy])


def register_policy(policy_class: PolicyClass) -> PolicyClass:
    """Class decorator: make ``policy_class`` known by its ``name`` to make_policy, checkpoints and calibration."""
    name = policy_class.__dict__.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(
            f"{policy_class.__qualname__} needs a class attribute name, a lower-case identifier such as 'entropy', "
            f"to be registered; got {name!r}."
        )
    params_type = getattr(policy_class, "params_type", None)
    if not (isinstance(params_type, type) and is_dataclass(params_type) and issubclass(params_type, PolicyParams)):
        raise TypeError(
            f"The {name} policy's params_type must be a frozen dataclass deriving from "
            f"epee.policies.params.PolicyParams; got {params_type!r}."
        )
    registered = _REGISTRY.get(name)
    if registered is not None and registered is not policy_class:
        raise EpeeError(
            f"The policy name {name!r} is already registered by {registered.__module__}.{registered.__qualname__}; "
            "give the new policy another name."
        )
    _REGISTRY[name] = policy_class
    return policy_class


def unregister_policy(name: str) -> None:
    """Forget the policy registered as ``name`` (tests and plugins that register a policy for a while)."""
    policy_class(name)
    del _REGISTRY[name]


def policy_class(name: str) -> type[ExitPolicy]:
    """The registered policy class called ``name``; a sentence listing the registered names otherwise."""
    if name not in _REGISTRY:
        raise EpeeError(
            f"Unknown exit policy {name!r}; choose one of {tuple(_REGISTRY)}, or register your own with "
            "@epee.policies.register_policy."
        )
    return _REGISTRY[name]


def make_policy(name: str, **params: Any) -> ExitPolicy:
    """Build a policy from its registry name and parameters, e.g. ``make_policy("epee", tau=0.01, patience=4)``."""
    policy_type = policy_class(name)
    allowed = tuple(field.name for field in fields(policy_type.params_type))
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise EpeeError(f"The {name} policy has no parameter {unknown[0]!r}; its parameters are {allowed}.")
    try:
        parameters = policy_type.params_type(**params)
    except TypeError as error:  # a required parameter is missing
        raise EpeeError(f"The {name} policy needs the parameters {allowed}: {error}.") from error
    return policy_type(parameters)


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def policy_params(policy: ExitPolicy) -> dict[str, Any]:
    """The policy as JSON-ready ``{"name": ..., "params": {...}}``; :func:`policy_from_params` reverses it."""
    return {"name": policy.name, "params": {key: _json_value(value) for key, value in asdict(policy.params).items()}}


def policy_from_params(stored: Mapping[str, Any]) -> ExitPolicy:
    """Rebuild a policy stored by :func:`policy_params` (e.g. read back from a checkpoint's JSON)."""
    if "name" not in stored:
        raise EpeeError(f"A stored policy needs a 'name' and 'params'; got the keys {sorted(stored)}.")
    return make_policy(stored["name"], **upgrade_stored_params(stored["name"], stored.get("params", {})))


def upgrade_stored_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Stored parameters of policy ``name`` in today's names (see :meth:`ExitPolicy.upgrade_stored`)."""
    return policy_class(name).upgrade_stored(params)
