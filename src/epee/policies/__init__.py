"""Exit policies: pure, batched, stateful per sample; one contract for simulation and the runtime.

The runtime drives a policy as::

    state = policy.start(batch_size, multi_label=multi_label, device=device)
    for exit_index in range(num_exits):
        exits_now = step_with_fallback(policy, state, exit_index, num_exits, logits)  # [running] bool
        ...  # write the finished rows' outputs
        state = state.select(~exits_now)
"""

from epee.policies.base import ExitPolicy, PolicyState, step_with_fallback
from epee.policies.beem import BEEMParams, BEEMPolicy, beem_alpha_candidates, cost_weights
from epee.policies.budget import BudgetParams, BudgetPolicy
from epee.policies.entropy import EntropyParams, EntropyPolicy
from epee.policies.epee import EPEEParams, EPEEPolicy
from epee.policies.fpabee import FPABEEParams, FPABEEPolicy
from epee.policies.margin import MarginParams, MarginPolicy
from epee.policies.maxprob import MaxProbParams, MaxProbPolicy
from epee.policies.oracle import OracleParams, OraclePolicy, oracle_exits
from epee.policies.patience import PatienceParams, PatiencePolicy
from epee.policies.pcee import PCEEParams, PCEEPolicy
from epee.policies.registry import DEPLOYABLE_POLICIES, POLICIES, make_policy, policy_from_params, policy_params
from epee.policies.scores import DIVERGENCES
from epee.policies.simulate import SimulationResult, simulate

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
    "FPABEEParams",
    "FPABEEPolicy",
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
    "PolicyState",
    "SimulationResult",
    "beem_alpha_candidates",
    "cost_weights",
    "make_policy",
    "oracle_exits",
    "policy_from_params",
    "policy_params",
    "simulate",
    "step_with_fallback",
]
