"""BEEM: weighted confidences add up while exits agree and restart when they disagree."""

import pytest
import torch

from epee.policies import BEEMParams, beem_alpha_candidates, cost_weights, make_policy, simulate


def agreeing_logits(classes, confidence=0.8):
    """[exits, batch=1, classes=2] predicting ``classes`` exit by exit with top probability ``confidence``."""
    rows = [[confidence, 1 - confidence] if cls == 0 else [1 - confidence, confidence] for cls in classes]
    return torch.tensor(rows).log()[:, None, :]


def exit_of(layer_logits, **params):
    return simulate(make_policy("beem", **params), layer_logits, multi_label=False).exit_index.item()


def test_cost_weights_grow_with_depth():
    assert cost_weights(4) == (0.25, 0.5, 0.75, 1.0)


def test_score_resets_on_disagreement():
    # cost weights 0.2 .. 1.0, confidence 0.8: S = 0.16, 0.48, then the prediction changes: S = 0.48 (not 0.96),
    # then 0.48 + 0.64 = 1.12. With alpha 0.9 the reset delays the exit from 2 to 3.
    layer_logits = agreeing_logits([0, 0, 1, 1, 1])
    assert exit_of(layer_logits, alpha=0.9, num_exits=5) == 3
    assert exit_of(agreeing_logits([0, 0, 0, 0, 0]), alpha=0.9, num_exits=5) == 2  # no reset: 0.96 at exit 2


def test_state_holds_the_aggregated_score():
    policy = make_policy("beem", alpha=10.0, num_exits=5)
    layer_logits = agreeing_logits([0, 0, 1, 1, 1])
    state = policy.start(1, multi_label=False)
    scores = []
    for index in range(5):
        policy.step(state, index, layer_logits[index])
        scores.append(state.tensors["score"].item())
    assert scores == pytest.approx([0.16, 0.48, 0.48, 1.12, 1.92], abs=1e-5)


def test_explicit_and_accuracy_weights():
    layer_logits = agreeing_logits([0, 0, 1, 1, 1, 1])
    assert exit_of(layer_logits, alpha=1.5, weights=(1, 1, 1, 1, 1, 1)) == 1  # 0.8, 1.6
    assert exit_of(layer_logits, alpha=2.0, weights=(1, 1, 1, 1, 1, 1)) == 4  # 0.8, 1.6, 0.8, 1.6, 2.4
    assert exit_of(layer_logits, alpha=1.0, weights="accuracy", accuracies=(0.5,) * 6) == 4  # half as much


def test_too_few_weights_for_the_model_is_an_error():
    with pytest.raises(ValueError, match="weights for 3 exits but was asked about exit index 3"):
        exit_of(agreeing_logits([0, 1, 0, 1, 0]), alpha=5.0, weights=(1, 1, 1))


def test_alpha_candidates_are_scores_of_agreeing_runs_at_mean_confidence():
    # expected scores w_i (1 - e_i) = 0.5, 1.6: runs give 0.5, 1.6 and 0.5 + 1.6
    assert beem_alpha_candidates([0.5, 0.2], [1.0, 2.0]) == pytest.approx((0.5, 1.6, 2.1))
    with pytest.raises(ValueError, match="one error rate per weighted exit"):
        beem_alpha_candidates([0.1], [1.0, 1.0])


def test_params_restore_tuples_from_json_lists():
    params = BEEMParams(alpha=1.0, weights="accuracy", accuracies=[0.5, 0.75])
    assert params.accuracies == (0.5, 0.75)
    assert params.exit_weights() == (0.5, 0.75)
