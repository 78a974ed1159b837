"""Policies by name, and their parameters as JSON, so CLI, configs and checkpoints say the same words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

from epee.errors import EpeeError
from epee.policies.base import ExitPolicy
from epee.policies.beem import BEEMPolicy
from epee.policies.budget import BudgetPolicy
from epee.policies.entropy import EntropyPolicy
from epee.policies.epee import EPEEPolicy
from epee.policies.fpabee import FPABEEPolicy
from epee.policies.margin import MarginPolicy
from epee.policies.maxprob import MaxProbPolicy
from epee.policies.oracle import OraclePolicy
from epee.policies.patience import PatiencePolicy
from epee.policies.pcee import PCEEPolicy

POLICIES: dict[str, type[ExitPolicy]] = {
    policy.name: policy
    for policy in (
        EntropyPolicy,
        MaxProbPolicy,
        MarginPolicy,
        PatiencePolicy,
        PCEEPolicy,
        EPEEPolicy,
        FPABEEPolicy,
        BEEMPolicy,
        BudgetPolicy,
        OraclePolicy,
    )
}
"""Every policy class by its registry name."""

DEPLOYABLE_POLICIES: tuple[str, ...] = tuple(name for name, policy in POLICIES.items() if policy.deployable)
"""Names of the policies that can run online (all but the oracle)."""


def make_policy(name: str, **params: Any) -> ExitPolicy:
    """Build a policy from its registry name and parameters, e.g. ``make_policy("epee", tau=0.01, patience=4)``."""
    if name not in POLICIES:
        raise EpeeError(f"Unknown exit policy {name!r}; choose one of {tuple(POLICIES)}.")
    policy_class = POLICIES[name]
    allowed = tuple(field.name for field in fields(policy_class.params_type))
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise EpeeError(f"The {name} policy has no parameter {unknown[0]!r}; its parameters are {allowed}.")
    try:
        parameters = policy_class.params_type(**params)
    except TypeError as error:  # a required parameter is missing
        raise EpeeError(f"The {name} policy needs the parameters {allowed}: {error}.") from error
    return policy_class(parameters)


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def policy_params(policy: ExitPolicy) -> dict[str, Any]:
    """The policy as JSON-ready ``{"name": ..., "params": {...}}``; :func:`policy_from_params` reverses it."""
    return {"name": policy.name, "params": {key: _json_value(value) for key, value in asdict(policy.params).items()}}


def policy_from_params(stored: Mapping[str, Any]) -> ExitPolicy:
    """Rebuild a policy stored by :func:`policy_params` (e.g. read back from a checkpoint's JSON)."""
    if "name" not in stored:
        raise EpeeError(f"A stored policy needs a 'name' and 'params'; got the keys {sorted(stored)}.")
    return make_policy(stored["name"], **dict(stored.get("params", {})))
