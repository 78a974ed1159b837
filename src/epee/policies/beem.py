"""BEEM policy (Bajpai & Hanawal, ICLR 2025): exits as experts whose agreeing confidences add up.

Each exit i is an expert with weight w_i and confidence c_i (the max-probability score of
:func:`epee.policies.scores.max_probability`). While consecutive exits agree on the prediction the
score accumulates, S_i = S_(i-1) + w_i c_i; on disagreement it restarts, S_i = w_i c_i. A sample
exits when S_i >= alpha. Weights are ``"cost"`` (BEEM-C, w_i = (i + 1) / n_exits: deeper exits
cost more and weigh more), ``"accuracy"`` (BEEM-A, w_i = validation accuracy of exit i) or explicit.

Unlike BEEM's released BERT code, which exits on a patience counter, this is the aggregated rule
of the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from epee.errors import EpeeError
from epee.policies.base import ExitPolicy, PolicyState
from epee.policies.checks import check_count, check_non_negative, check_number_tuple
from epee.policies.scores import max_probability, predictions, same_prediction

WEIGHT_SCHEMES = ("cost", "accuracy")


@dataclass(frozen=True)
class BEEMParams:
    """``alpha``: score needed to exit; ``weights``: ``"cost"``, ``"accuracy"`` or one weight per exit.

    ``num_exits`` is required by (and only used with) ``"cost"``; ``accuracies`` (per-exit
    validation accuracies, in [0, 1]) by (and only with) ``"accuracy"``.
    """

    alpha: float
    weights: str | tuple[float, ...] = "cost"
    num_exits: int | None = None
    accuracies: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        check_non_negative("beem", "alpha", self.alpha)
        if isinstance(self.weights, str):
            if self.weights not in WEIGHT_SCHEMES:
                raise EpeeError(
                    f"The beem policy's weights must be one of {WEIGHT_SCHEMES} or a sequence of numbers >= 0; "
                    f"got {self.weights!r}."
                )
        else:
            check_number_tuple("beem", "weights", self.weights)
            object.__setattr__(self, "weights", tuple(float(weight) for weight in self.weights))
        if self.weights == "cost":
            check_count("beem", "num_exits (required by weights='cost')", self.num_exits, minimum=1)
        elif self.num_exits is not None:
            raise EpeeError(f"The beem policy's num_exits is only used with weights='cost'; got {self.num_exits!r}.")
        if self.weights == "accuracy":
            check_number_tuple("beem", "accuracies (required by weights='accuracy')", self.accuracies, upper=1)
            object.__setattr__(self, "accuracies", tuple(float(accuracy) for accuracy in self.accuracies))
        elif self.accuracies is not None:
            raise EpeeError(
                f"The beem policy's accuracies are only used with weights='accuracy'; got {self.accuracies!r}."
            )

    def exit_weights(self) -> tuple[float, ...]:
        """The weight w_i of every exit, resolved from the scheme."""
        if self.weights == "cost":
            return cost_weights(self.num_exits)
        if self.weights == "accuracy":
            return self.accuracies
        return self.weights


def cost_weights(num_exits: int) -> tuple[float, ...]:
    """BEEM-C weights w_i = (i + 1) / n_exits: proportional to the layers an exit costs."""
    return tuple((index + 1) / num_exits for index in range(num_exits))


def beem_alpha_candidates(error_rates: Sequence[float], weights: Sequence[float]) -> tuple[float, ...]:
    """Thresholds worth trying for BEEM, derived from the exits' validation error rates e_i.

    BEEM sets alpha from the exits' error rates so that early exiting makes no more errors than the
    final layer (Bajpai & Hanawal, 2025, threshold selection). We implement the idea in two steps.
    Here, the candidates: a calibrated exit's mean confidence equals its accuracy 1 - e_i, so a
    sample whose predictions agree from exit k through exit j typically holds the score
    sum_{i=k..j} w_i (1 - e_i); every such run (0 <= k <= j < n) gives one candidate, sorted and
    de-duplicated. Then the choice: simulate the candidates on validation and keep the smallest
    (hence fastest: exits move later as alpha grows) whose error is at most the last exit's; see
    :func:`epee.calibrate.choose_beem_alpha` and ``CalibrationResult.at_least_last_exit``.
    """
    if len(error_rates) != len(weights) or len(weights) == 0:
        raise EpeeError(
            f"BEEM alpha candidates need one error rate per weighted exit; got {len(error_rates)} error rates "
            f"and {len(weights)} weights."
        )
    expected_scores = [weight * (1.0 - error) for weight, error in zip(weights, error_rates, strict=True)]
    candidates = {
        round(sum(expected_scores[first : last + 1]), 12)
        for last in range(len(expected_scores))
        for first in range(last + 1)
    }
    return tuple(sorted(candidates))


class BEEMPolicy(ExitPolicy):
    name = "beem"
    params_type = BEEMParams

    def __init__(self, params: BEEMParams) -> None:
        super().__init__(params)
        self.weights = params.exit_weights()

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return {"score": torch.zeros(batch_size, device=device)}

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        if exit_index >= len(self.weights):
            raise EpeeError(
                f"The beem policy has weights for {len(self.weights)} exits but was asked about exit index "
                f"{exit_index}; give one weight (or accuracy, or num_exits) per exit of the model."
            )
        weighted_confidence = self.weights[exit_index] * max_probability(logits, state.multi_label)
        prediction = predictions(logits, state.multi_label)
        if exit_index == 0:
            score = weighted_confidence
        else:
            agree = same_prediction(state.tensors["previous_prediction"], prediction, state.multi_label)
            score = torch.where(agree, state.tensors["score"] + weighted_confidence, weighted_confidence)
        state.tensors["score"] = score
        state.tensors["previous_prediction"] = prediction
        return score >= self.params.alpha
