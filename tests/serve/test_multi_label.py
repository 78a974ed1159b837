"""Multi-label answers (in process, through the app's routes): every label above 0.5, with its score."""

from __future__ import annotations

import torch
from fastapi.testclient import TestClient

from epee.runtime import predict
from epee.serve import PredictionService, ServeSettings, create_app
from tests.helpers import tiny_bert_model
from tests.serve.conftest import TEXTS


def test_multi_label_predict_and_infer_give_every_chosen_label():
    torch.manual_seed(1)
    model = tiny_bert_model(labels=("fever", "rash", "cough"), task="multi_label", layers=2).eval()
    expected = predict(model, TEXTS[:8])
    app = create_app(PredictionService(model, ServeSettings(max_wait_ms=0), "symptoms"))
    with TestClient(app) as client:
        answers = client.post("/predict", json={"inputs": TEXTS[:8]}).json()
        body = {"inputs": [{"name": "text", "shape": [8], "datatype": "BYTES", "data": TEXTS[:8]}]}
        outputs = {
            output["name"]: output for output in client.post("/v2/models/symptoms/infer", json=body).json()["outputs"]
        }
    probabilities = expected.probabilities.tolist()
    assert [answer["label"] for answer in answers] == [list(labels) for labels in expected.labels]
    for answer, row in zip(answers, probabilities, strict=True):
        assert answer["score"] == [row[("fever", "rash", "cough").index(name)] for name in answer["label"]]
        assert all(score > 0.5 for score in answer["score"])
    assert outputs["label"]["datatype"] == "BOOL" and outputs["label"]["shape"] == [8, 3]
    assert outputs["label"]["data"] == [probability > 0.5 for row in probabilities for probability in row]
    assert "score" not in outputs
