"""Adding a policy takes one class: this module's toy passes check_policy and calibrates, touching no other file.

And check_policy catches policies that break the contract, saying which policy, which check and why.
In a plugin module the toy would carry ``@register_policy``; here a fixture registers it for the
tests that need it, so the rest of the suite sees only the shipped policies.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from epee.calibrate import calibrate
from epee.policies import (
    DEPLOYABLE_POLICIES,
    ExitPolicy,
    Grid,
    PolicyParams,
    PolicyState,
    make_policy,
    parameter,
    policy_from_params,
    policy_params,
    register_policy,
    unregister_policy,
)
from epee.policies.params import Number
from epee.policies.scores import max_probability
from epee.policies.tables import ExitTables
from epee.policies.testing import check_policy


def logit_gap(logits: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """Top logit minus the runner-up ``[batch]``; multi-label, the least sure label's |logit|."""
    if multi_label:
        return logits.abs().amin(dim=-1)
    top_two = logits.topk(2, dim=-1).values
    return top_two[:, 0] - top_two[:, 1]


@dataclass(frozen=True)
class LogitGapParams(PolicyParams):
    """``gap``: exit when the top logit leads the runner-up by at least this much."""

    gap: float = parameter(Number(minimum=0))


class LogitGapPolicy(ExitPolicy):
    """The toy: a margin on logits instead of probabilities."""

    name = "logit_gap"
    params_type = LogitGapParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"gap": gap} for gap in (0.5, 1.0, 2.0, 4.0, 8.0)]

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return logit_gap(logits, state.multi_label) >= self.params.gap

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        return tables.memo("logit_gap", lambda: tables.per_exit(logit_gap)) >= self.params.gap


@pytest.fixture
def toy_registered():
    register_policy(LogitGapPolicy)
    yield LogitGapPolicy
    unregister_policy(LogitGapPolicy.name)


def test_a_toy_policy_defined_only_here_passes_check_policy():
    check_policy(LogitGapPolicy)
    check_policy(LogitGapPolicy(LogitGapParams(gap=1.5)))


def test_a_registered_toy_policy_is_built_by_name_stored_and_calibrated(toy_registered):
    policy = make_policy("logit_gap", gap=2.0)
    assert policy_from_params(policy_params(policy)) == policy  # as a checkpoint stores it
    generator = torch.Generator().manual_seed(3)
    layer_logits = torch.randn(4, 40, 3, generator=generator) * torch.arange(1, 5)[:, None, None]
    labels = layer_logits[-1].argmax(-1).numpy()
    result = calibrate(
        layer_logits,
        labels,
        exit_layer_numbers=(1, 2, 3, 4),
        num_layers=4,
        multi_label=False,
        metric=lambda predicted, gold: float(np.mean(predicted == gold)),
        policies=(*DEPLOYABLE_POLICIES, "logit_gap"),
    )
    toy_points = result.points_of("logit_gap")
    assert [point.params for point in toy_points] == [{"gap": gap} for gap in (0.5, 1.0, 2.0, 4.0, 8.0)]
    assert toy_points[-1].exit_counts[-1] > toy_points[0].exit_counts[-1]  # a larger gap exits later
    assert isinstance(toy_points[2].make_policy(), LogitGapPolicy)


def test_calibrating_an_unregistered_policy_is_a_sentence_not_a_key_error():
    with pytest.raises(ValueError, match=r"^Cannot calibrate policy 'logit_gap': Unknown exit policy 'logit_gap'; "):
        calibrate(
            torch.zeros(2, 3, 2),
            np.zeros(3, dtype=int),
            exit_layer_numbers=(1, 2),
            num_layers=2,
            multi_label=False,
            metric=lambda predicted, gold: 0.0,
            policies=("logit_gap",),
        )


# Deliberately broken policies, each with the sentence check_policy answers.


@dataclass(frozen=True)
class ThresholdParams(PolicyParams):
    threshold: float = parameter(Number(minimum=0, maximum=1))


class BatchMeanPolicy(ExitPolicy):
    """Broken: a row exits when it is surer than its batch's average, so its exit depends on the other rows."""

    name = "batch_mean"
    params_type = ThresholdParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"threshold": 0.0}]

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        confidence = max_probability(logits, state.multi_label)
        return confidence >= confidence.mean() + self.params.threshold


@dataclass(frozen=True)
class UncheckedParams(PolicyParams):
    threshold: float = parameter(Number(minimum=0, maximum=1))

    def __post_init__(self) -> None:  # broken: skips the declared checks
        pass


class UncheckedPolicy(ExitPolicy):
    """Broken: declares its constraint but never enforces it."""

    name = "unchecked"
    params_type = UncheckedParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"threshold": 0.9}]

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return max_probability(logits, state.multi_label) >= self.params.threshold


@dataclass(frozen=True)
class LooseTableParams(ThresholdParams):
    pass


class LooseTablePolicy(ExitPolicy):
    """Broken: its fast-calibration table rule says > where stepping says >=."""

    name = "loose_table"
    params_type = LooseTableParams

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        return [{"threshold": 0.7}, {"threshold": 1.0}]

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        return max_probability(logits, state.multi_label) >= self.params.threshold

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        return tables.max_probability() > self.params.threshold


BROKEN = [
    (
        BatchMeanPolicy,
        r"^check_policy: the batch_mean policy \(BatchMeanPolicy\) fails 'batch_equals_rows': row \d+ exits at exit "
        r"\d alone but at exit \d in a batch of 24 \(params ThresholdParams\(threshold=0\.0\), single-label\); "
        r"a row's decision must not depend on the other rows of its batch\.$",
    ),
    (
        UncheckedPolicy,
        r"^check_policy: the unchecked policy \(UncheckedPolicy\) fails 'rejects_invalid_parameters': "
        r"threshold='1' is accepted, although its constraint requires a number in \[0, 1\]\.$",
    ),
    (
        LooseTablePolicy,
        r"^check_policy: the loose_table policy \(LooseTablePolicy\) fails 'fire_table_equals_simulate': "
        r"fire_table puts rows \[[\d, ]+\] at exits \[[\d, ]+\] where stepping puts them at \[[\d, ]+\] "
        r"\(params LooseTableParams\(threshold=1\.0\), single-label\)\.$",
    ),
]


@pytest.mark.parametrize(("policy", "message"), BROKEN, ids=[policy.name for policy, _ in BROKEN])
def test_check_policy_rejects_a_broken_policy_with_a_clear_message(policy, message):
    with pytest.raises(AssertionError, match=message):
        check_policy(policy)
