"""Bad parameters fail when the policy is built, with a sentence naming the value and what is allowed."""

import pytest

from epee.policies import DIVERGENCES, POLICIES, make_policy


@pytest.mark.parametrize("name", ["entropy", "pcee", "epee", "fpabee"])
def test_negative_tau(name):
    params = {"tau": -0.1} | ({"patience": 2} if name != "entropy" else {})
    with pytest.raises(ValueError, match=rf"The {name} policy's tau must be a finite number >= 0; got -0.1\."):
        make_policy(name, **params)


@pytest.mark.parametrize("name", ["patience", "epee", "fpabee"])
def test_negative_patience(name):
    params = {"patience": -1} | ({"tau": 0.1} if name != "patience" else {})
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


def test_probability_thresholds_are_in_the_unit_interval():
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]; got 1.5\."):
        make_policy("maxprob", threshold=1.5)
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]; got nan\."):
        make_policy("margin", threshold=float("nan"))


def test_unknown_policy_name_lists_the_registered_names():
    with pytest.raises(ValueError, match="Unknown exit policy 'pabee'") as error:
        make_policy("pabee", patience=2)
    assert all(name in str(error.value) for name in POLICIES)


def test_unknown_or_missing_parameter():
    with pytest.raises(ValueError, match=r"no parameter 'threshold'; its parameters are \('tau', 'patience'\)"):
        make_policy("epee", tau=0.1, patience=2, threshold=0.5)
    with pytest.raises(ValueError, match=r"needs the parameters \('tau', 'patience'\)"):
        make_policy("epee", tau=0.1)


def test_beem_weight_schemes():
    with pytest.raises(ValueError, match=r"weights must be one of \('cost', 'accuracy'\) or a sequence"):
        make_policy("beem", alpha=1.0, weights="depth")
    with pytest.raises(ValueError, match=r"num_exits \(required by weights='cost'\) must be an integer >= 1"):
        make_policy("beem", alpha=1.0)
    with pytest.raises(ValueError, match=r"accuracies \(required by weights='accuracy'\) must be"):
        make_policy("beem", alpha=1.0, weights="accuracy")
    with pytest.raises(ValueError, match="only used with weights='accuracy'"):
        make_policy("beem", alpha=1.0, num_exits=3, accuracies=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"weights must be a non-empty sequence of numbers >= 0"):
        make_policy("beem", alpha=1.0, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match=r"alpha must be a finite number >= 0; got -1"):
        make_policy("beem", alpha=-1, num_exits=3)


def test_budget_and_oracle_values():
    with pytest.raises(ValueError, match=r"exit_index must be an integer >= 0; got -1\."):
        make_policy("budget", exit_index=-1)
    with pytest.raises(ValueError, match=r"reference must be one of \('final', 'gold'\); got 'label'\."):
        make_policy("oracle", reference="label")


def test_policies_are_built_from_their_own_params_type():
    from epee.policies import EntropyPolicy, PatienceParams

    with pytest.raises(TypeError, match="built from EntropyParams; got PatienceParams"):
        EntropyPolicy(PatienceParams(patience=2))
