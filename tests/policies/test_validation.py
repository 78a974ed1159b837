"""Bad parameters fail when the policy is built, with a sentence naming the value and what is allowed.

Every policy's constraints are also exercised generically by check_policy (tests/policies/test_contract.py);
these pin the exact sentences.
"""

import pytest

from epee.policies import DIVERGENCES, POLICIES, make_policy
from epee.policies.params import constraints_of

WITH_TAU = [name for name, policy in POLICIES.items() if "tau" in constraints_of(policy.params_type)]
WITH_PATIENCE_FROM_0 = [
    name
    for name, policy in POLICIES.items()
    if "patience" in constraints_of(policy.params_type) and constraints_of(policy.params_type)["patience"].minimum == 0
]


def test_the_parametrisations_found_the_policies():
    assert set(WITH_TAU) >= {"entropy", "pcee", "epee", "fpabee"}
    assert set(WITH_PATIENCE_FROM_0) >= {"patience", "epee", "fpabee"}


@pytest.mark.parametrize("name", WITH_TAU)
def test_negative_tau(name):
    params = {"tau": -0.1} | ({"patience": 2} if "patience" in constraints_of(POLICIES[name].params_type) else {})
    with pytest.raises(ValueError, match=rf"The {name} policy's tau must be a finite number >= 0; got -0.1\."):
        make_policy(name, **params)


@pytest.mark.parametrize("name", WITH_PATIENCE_FROM_0)
def test_negative_patience(name):
    params = {"patience": -1} | ({"tau": 0.1} if "tau" in constraints_of(POLICIES[name].params_type) else {})
    with pytest.raises(ValueError, match=rf"The {name} policy's patience must be an integer >= 0; got -1\."):
        make_policy(name, **params)


def test_pcee_patience_starts_at_one_and_must_be_an_integer():
    with pytest.raises(ValueError, match=r"patience must be an integer >= 1; got 0\."):
        make_policy("pcee", tau=0.1, patience=0)
    with pytest.raises(ValueError, match=r"patience must be an integer >= 1; got 2.5\."):
        make_policy("pcee", tau=0.1, patience=2.5)
    with pytest.raises(ValueError, match=r"got True\."):
        make_policy("patience", patience=True)


def test_unknown_divergence_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="divergence must be one of") as error:
        make_policy("fpabee", tau=0.1, patience=2, divergence="hellinger")
    assert all(kind in str(error.value) for kind in DIVERGENCES) and "'hellinger'" in str(error.value)


def test_probability_thresholds_are_in_the_half_open_unit_interval():
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\); got 1.5\."):
        make_policy("maxprob", threshold=1.5)
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\); got nan\."):
        make_policy("margin", threshold=float("nan"))


@pytest.mark.parametrize("name", ["maxprob", "margin"])
def test_a_probability_threshold_of_exactly_one_is_refused(name):
    # p = 1 only happens when float32 rounds a saturated softmax: the threshold would fire on rounding.
    with pytest.raises(ValueError, match=rf"The {name} policy's threshold must be a number in \[0, 1\); got 1\."):
        make_policy(name, threshold=1)
    assert make_policy(name, threshold=0.9999).params.threshold == 0.9999


def test_beem_alpha_of_one_is_an_ordinary_score():
    # alpha thresholds a sum of weighted confidences, not a probability: two agreeing exits reach 1.0.
    assert make_policy("beem", alpha=1.0, num_exits=3).params.alpha == 1.0


def test_flags_must_be_booleans():
    with pytest.raises(ValueError, match=r"The entropy policy's normalized must be True or False; got 'yes'\."):
        make_policy("entropy", tau=0.1, normalized="yes")


def test_unknown_policy_name_lists_the_registered_names():
    with pytest.raises(ValueError, match="Unknown exit policy 'pabee'; choose one of") as error:
        make_policy("pabee", patience=2)
    assert all(name in str(error.value) for name in POLICIES)
    assert "register your own with @epee.policies.register_policy" in str(error.value)


def test_unknown_or_missing_parameter():
    with pytest.raises(ValueError, match=r"no parameter 'threshold'; its parameters are \('tau', 'patience'\)"):
        make_policy("epee", tau=0.1, patience=2, threshold=0.5)
    with pytest.raises(ValueError, match=r"needs the parameters \('tau', 'patience'\)"):
        make_policy("epee", tau=0.1)


def test_beem_weight_schemes():
    with pytest.raises(
        ValueError,
        match=r"The beem policy's weights must be one of \('cost', 'accuracy'\) or a non-empty sequence of numbers "
        r">= 0; got 'depth'\.",
    ):
        make_policy("beem", alpha=1.0, weights="depth")
    with pytest.raises(ValueError, match=r"num_exits \(required by weights='cost'\) must be an integer >= 1"):
        make_policy("beem", alpha=1.0)
    with pytest.raises(ValueError, match=r"accuracies \(required by weights='accuracy'\) must be"):
        make_policy("beem", alpha=1.0, weights="accuracy")
    with pytest.raises(ValueError, match="only used with weights='accuracy'"):
        make_policy("beem", alpha=1.0, num_exits=3, accuracies=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"or a non-empty sequence of numbers >= 0; got \[1.0, -1.0\]\."):
        make_policy("beem", alpha=1.0, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match=r"accuracies must be a non-empty sequence of numbers in \[0, 1\] or None"):
        make_policy("beem", alpha=1.0, weights="accuracy", accuracies=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"alpha must be a finite number >= 0; got -1"):
        make_policy("beem", alpha=-1, num_exits=3)


def test_budget_and_oracle_values():
    with pytest.raises(ValueError, match=r"exit_layer must be an integer >= 1; got 0\."):
        make_policy("budget", exit_layer=0)
    with pytest.raises(ValueError, match=r"reference must be one of \('final', 'gold'\); got 'label'\."):
        make_policy("oracle", reference="label")


def test_policies_are_built_from_their_own_params_type():
    from epee.policies import EntropyPolicy, PatienceParams

    with pytest.raises(TypeError, match="built from EntropyParams; got PatienceParams"):
        EntropyPolicy(PatienceParams(patience=2))
