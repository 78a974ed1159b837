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
from epee.policies.base import ExitPolicy, Grid, PolicyState
from epee.policies.params import AnyOf, Choice, Number, Numbers, OrNone, PolicyParams, parameter
from epee.policies.registry import register_policy
from epee.policies.scores import max_probability, predictions, same_prediction
from epee.policies.tables import ExitTables

WEIGHT_SCHEMES = ("cost", "accuracy")


@dataclass(frozen=True)
class BEEMParams(PolicyParams):
    """``alpha``: score needed to exit; ``weights``: ``"cost"``, ``"accuracy"`` or one weight per exit.

    ``num_exits`` is required by (and only used with) ``"cost"``; ``accuracies`` (per-exit
    validation accuracies, in [0, 1]) by (and only with) ``"accuracy"``.

    ``alpha`` is a sum of weighted confidences, not a probability, so any value >= 0 is meaningful,
    1.0 included: two agreeing exits can reach it. Only a lone exit whose weight is 1 reaches
    alpha = 1.0 when its confidence rounds to exactly 1 (see the max-probability policy).
    """

    alpha: float = parameter(Number(minimum=0))
    weights: str | tuple[float, ...] = parameter(
        AnyOf((Choice(WEIGHT_SCHEMES), Numbers(Number(minimum=0)))), default="cost"
    )
    num_exits: int | None = parameter(OrNone(Number(minimum=1, integer=True)), default=None)
    accuracies: tuple[float, ...] | None = parameter(OrNone(Numbers(Number(minimum=0, maximum=1))), default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.weights == "cost" and self.num_exits is None:
            raise EpeeError(
                "The beem policy's num_exits (required by weights='cost') must be an integer >= 1; got None."
            )
        if self.weights != "cost" and self.num_exits is not None:
            raise EpeeError(f"The beem policy's num_exits is only used with weights='cost'; got {self.num_exits!r}.")
        if self.weights == "accuracy" and self.accuracies is None:
            raise EpeeError(
                "The beem policy's accuracies (required by weights='accuracy') must be a non-empty sequence of "
                "numbers in [0, 1]; got None."
            )
        if self.weights != "accuracy" and self.accuracies is not None:
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
    de-duplicated. Then the choice: calibration simulates every candidate on validation (they are
    BEEM's default grid) and ``CalibrationResult.at_least_last_exit`` keeps the fastest point whose
    metric is at least the last exit's.
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


@register_policy
class BEEMPolicy(ExitPolicy):
    name = "beem"
    params_type = BEEMParams

    def __init__(self, params: BEEMParams) -> None:
        super().__init__(params)
        self.weights = params.exit_weights()

    @classmethod
    def default_grid(cls, error_rates: Sequence[float]) -> Grid:
        """BEEM-C and BEEM-A, each with the alpha candidates of :func:`beem_alpha_candidates`."""
        num_exits = len(error_rates)
        accuracies = [1.0 - error for error in error_rates]
        cost = [
            {"alpha": alpha, "weights": "cost", "num_exits": num_exits}
            for alpha in beem_alpha_candidates(error_rates, cost_weights(num_exits))
        ]
        accuracy = [
            {"alpha": alpha, "weights": "accuracy", "accuracies": accuracies}
            for alpha in beem_alpha_candidates(error_rates, accuracies)
        ]
        return cost + accuracy

    def _initial_tensors(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        return {"score": torch.zeros(batch_size, device=device)}

    def _check_exit(self, exit_index: int) -> None:
        if exit_index >= len(self.weights):
            raise EpeeError(
                f"The beem policy has weights for {len(self.weights)} exits but was asked about exit index "
                f"{exit_index}; give one weight (or accuracy, or num_exits) per exit of the model."
            )

    def _step(self, state: PolicyState, exit_index: int, logits: torch.Tensor) -> torch.Tensor:
        self._check_exit(exit_index)
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

    def fire_table(self, tables: ExitTables) -> torch.Tensor:
        self._check_exit(tables.num_exits - 1)
        return tables.memo(("beem_score", self.weights), lambda: self._score_table(tables)) >= self.params.alpha

    def _score_table(self, tables: ExitTables) -> torch.Tensor:
        """The aggregated score S_i after each exit ``[exits, batch]``; it depends on the weights, not on alpha."""
        agree = tables.agree_with_previous()
        confidence = tables.max_probability()
        scores = [self.weights[0] * confidence[0]]
        for index in range(1, tables.num_exits):
            weighted = self.weights[index] * confidence[index]
            scores.append(torch.where(agree[index], scores[-1] + weighted, weighted))
        return torch.stack(scores)
