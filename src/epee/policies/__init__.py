"""Exit policies: pure, batched, stateful per sample; one contract for simulation and the runtime.

The runtime drives a policy as::

    state = policy.start(batch_size, multi_label=multi_label, device=device)
    for exit_index in range(num_exits):
        exits_now = step_with_fallback(policy, state, exit_index, num_exits, logits)  # [running] bool
        ...  # write the finished rows' outputs
        state = state.select(~exits_now)

A policy is one file: its parameter dataclass (constraints declared on the fields), its class
(rule, default calibration grid, optional table rule for fast calibration) and
``@register_policy``. :func:`epee.policies.testing.check_policy` checks that it keeps the contract.
"""

from epee.policies.base import ExitPolicy, Grid, PolicyState, step_with_fallback
from epee.policies.beem import BEEMParams, BEEMPolicy, beem_alpha_candidates, cost_weights
from epee.policies.budget import BudgetParams, BudgetPolicy
from epee.policies.entropy import EntropyParams, EntropyPolicy
from epee.policies.epee import EPEEParams, EPEEPolicy
from epee.policies.exit_result import ExitResult
from epee.policies.fpabee import FPABEEParams, FPABEEPolicy
from epee.policies.margin import MarginParams, MarginPolicy
from epee.policies.maxprob import MaxProbParams, MaxProbPolicy
from epee.policies.oracle import OracleParams, OraclePolicy, oracle_exits
from epee.policies.params import PolicyParams, parameter
from epee.policies.patience import PatienceParams, PatiencePolicy
from epee.policies.pcee import PCEEParams, PCEEPolicy
from epee.policies.registry import (
    POLICIES,
    make_policy,
    policy_class,
    policy_from_params,
    policy_params,
    register_policy,
    unregister_policy,
)
from epee.policies.scores import DIVERGENCES
from epee.policies.simulate import fast_exit_index, simulate
from epee.policies.tables import ExitTables

DEPLOYABLE_POLICIES: tuple[str, ...] = (
    "entropy",
    "maxprob",
    "margin",
    "patience",
    "pcee",
    "epee",
    "fpabee",
    "beem",
    "budget",
)
"""The deployable policies epee ships (all but the oracle), in the order calibration sweeps them by default.

The order is part of calibration's result: when two points tie on every figure, the selection
rules pick the earlier one. A policy registered elsewhere is calibrated by naming it.
"""

__all__ = [
    "DEPLOYABLE_POLICIES",
    "DIVERGENCES",
    "POLICIES",
    "BEEMParams",
    "BEEMPolicy",
    "BudgetParams",
    "BudgetPolicy",
    "EPEEParams",
    "EPEEPolicy",
    "EntropyParams",
    "EntropyPolicy",
    "ExitPolicy",
    "ExitResult",
    "ExitTables",
    "FPABEEParams",
    "FPABEEPolicy",
    "Grid",
    "MarginParams",
    "MarginPolicy",
    "MaxProbParams",
    "MaxProbPolicy",
    "OracleParams",
    "OraclePolicy",
    "PCEEParams",
    "PCEEPolicy",
    "PatienceParams",
    "PatiencePolicy",
    "PolicyParams",
    "PolicyState",
    "beem_alpha_candidates",
    "cost_weights",
    "fast_exit_index",
    "make_policy",
    "oracle_exits",
    "parameter",
    "policy_class",
    "policy_from_params",
    "policy_params",
    "register_policy",
    "simulate",
    "step_with_fallback",
    "unregister_policy",
]
