"""predict: inputs in any length order come back in input order, with the stored policy by default."""

import torch

from epee.policies import make_policy, policy_params
from epee.runtime import predict
from tests.helpers import tiny_bert_model

TEXTS = ["short", "a much longer sentence with many more words in it", "medium length text", "x y"]


def test_predict_keeps_input_order_and_uses_the_stored_policy():
    model = tiny_bert_model(layers=4).eval()
    full = predict(model, TEXTS)
    assert full.exit_layer.tolist() == [4, 4, 4, 4] and full.layer_speedup == 1.0
    one_by_one = [predict(model, [text]).logits[0] for text in TEXTS]
    torch.testing.assert_close(full.logits, torch.stack(one_by_one), atol=1e-5, rtol=1e-5)

    model.config.policy = policy_params(make_policy("budget", exit_layer=2))
    early = predict(model, TEXTS, batch_size=3)
    assert early.exit_layer.tolist() == [2, 2, 2, 2] and early.layer_speedup == 2.0
    assert len(early.labels) == 4 and torch.allclose(early.probabilities.sum(-1), torch.ones(4))
