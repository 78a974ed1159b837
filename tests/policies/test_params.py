"""Declared constraints: the sentence each states, what each accepts, and the values each generates to refuse."""

import math

import pytest

from epee.policies.params import AnyOf, Choice, Flag, Number, Numbers, OrNone

CONSTRAINTS = [
    (Number(minimum=0), "a finite number >= 0", [0, 0.5, 7], ["0.5", True, None, -0.5, math.inf, math.nan]),
    (Number(minimum=1, integer=True), "an integer >= 1", [1, 12], [0, 1.0, 2.5, True, "2"]),
    (Number(minimum=0, maximum=1, open_maximum=True), "a number in [0, 1)", [0, 0.999], [1, 1.0, -0.1, math.nan]),
    (Number(minimum=0, maximum=1), "a number in [0, 1]", [0, 1], [1.5, -0.5]),
    (Choice(("js", "kl")), "one of ('js', 'kl')", ["js", "kl"], ["JS", None, 0]),
    (Flag(), "True or False", [True, False], [1, 0, "yes", None]),
    (Numbers(Number(minimum=0)), "a non-empty sequence of numbers >= 0", [[1.0], (0, 2)], [[], "1", [-1.0], None]),
    (
        AnyOf((Choice(("cost",)), Numbers(Number(minimum=0)))),
        "one of ('cost',) or a non-empty sequence of numbers >= 0",
        ["cost", [0.5]],
        ["depth", [-1.0], None],
    ),
    (OrNone(Number(minimum=1, integer=True)), "an integer >= 1 or None", [None, 3], [0, 2.5]),
]


@pytest.mark.parametrize(("constraint", "requirement", "good", "bad"), CONSTRAINTS, ids=[c[1] for c in CONSTRAINTS])
def test_requirement_accepts_and_generated_refusals(constraint, requirement, good, bad):
    assert constraint.requirement == requirement
    assert all(constraint.accepts(value) for value in good)
    assert not any(constraint.accepts(value) for value in bad)
    examples = constraint.invalid_examples()
    assert examples and not any(constraint.accepts(value) for value in examples)


def test_validate_names_policy_and_parameter_and_normalises():
    with pytest.raises(ValueError, match=r"^The toy policy's gap must be a finite number >= 0; got -1\.$"):
        Number(minimum=0).validate("toy", "gap", -1)
    assert Numbers(Number(minimum=0)).validate("toy", "weights", [1, 2]) == (1.0, 2.0)
    assert AnyOf((Choice(("cost",)), Numbers(Number(minimum=0)))).validate("toy", "weights", [1]) == (1.0,)
