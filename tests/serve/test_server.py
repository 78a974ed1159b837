"""A real ``epee serve`` process on a loopback port: answers equal ``epee predict``, batching under
concurrency, limits, auth, metrics and logs that never hold an input."""

from __future__ import annotations

import asyncio
import csv
import json
import re

import httpx
import pytest
from pydantic import TypeAdapter
from typer.testing import CliRunner

from epee.cli.main import app
from epee.models import MultiExitModel
from epee.runtime import predict
from epee.serve.schemas import Prediction
from epee.serve.testing import running_server
from tests.serve.conftest import TEXTS

TOKEN = "s3cret-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMITS = ["--max-texts-per-request", "64", "--max-chars-per-text", "500", "--max-body-bytes", "20000"]


@pytest.fixture(scope="module")
def server(served_checkpoint, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-logs") / "server.log"
    with running_server(served_checkpoint, log, LIMITS, env={"EPEE_API_TOKEN": TOKEN}) as process:
        yield process


@pytest.fixture(scope="module")
def cli_answers(served_checkpoint, tmp_path_factory) -> dict[str, tuple[str, int]]:
    """``epee predict`` on the same rows: text -> (label, exit layer)."""
    folder = tmp_path_factory.mktemp("predict")
    with open(folder / "rows.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerows([["text"], *([text] for text in TEXTS)])
    output = folder / "predictions.jsonl"
    result = CliRunner().invoke(app, ["predict", str(served_checkpoint), str(folder / "rows.csv"), "-o", str(output)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in output.read_text().splitlines()]
    return {text: (record["label"], record["exit_layer"]) for text, record in zip(TEXTS, records, strict=True)}


def _post(server, path, body, headers=AUTH, **options):
    return httpx.post(server.url + path, json=body, headers=headers, timeout=30, **options)


def test_predict_answers_equal_epee_predict(server, cli_answers):
    response = _post(server, "/predict", {"inputs": TEXTS})
    assert response.status_code == 200, response.text
    answers = response.json()
    assert [(answer["label"], answer["exit_layer"]) for answer in answers] == [cli_answers[text] for text in TEXTS]
    assert len({layer for _, layer in cli_answers.values()}) >= 2  # the policy really exits at several layers
    assert all(0 < answer["score"] <= 1 and set(answer) == {"label", "score", "exit_layer"} for answer in answers)


def test_top_k_and_probabilities(server, cli_answers):
    body = {"inputs": TEXTS[0], "parameters": {"top_k": 2, "return_probabilities": True}}
    [answer] = _post(server, "/predict", body).json()
    assert [item["label"] for item in answer["top_k"]][0] == answer["label"] == cli_answers[TEXTS[0]][0]
    assert len(answer["top_k"]) == 2 and answer["top_k"][0]["score"] >= answer["top_k"][1]["score"]
    assert set(answer["probabilities"]) == {"better", "same", "worse"}
    assert sum(answer["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    # The route writes its JSON itself: it must stay what the OpenAPI schema (response_model) documents.
    documented = TypeAdapter(list[Prediction]).validate_python([answer])[0].model_dump(exclude_none=True)
    assert documented == answer


def test_200_concurrent_requests_are_batched_and_answered_correctly(server, cli_answers):
    def batch_histogram():
        text = httpx.get(server.url + "/metrics", headers=AUTH).text
        return tuple(
            float(re.search(rf"^epee_batch_size_{part} (\S+)$", text, re.M).group(1)) for part in ("count", "sum")
        )

    async def send_all():
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH, limits=limits, timeout=60) as client:
            requests = [client.post("/predict", json={"inputs": TEXTS[index % len(TEXTS)]}) for index in range(200)]
            return await asyncio.gather(*requests)

    batches_before, rows_before = batch_histogram()
    responses = asyncio.run(send_all())
    batches_after, rows_after = batch_histogram()
    assert [response.status_code for response in responses] == [200] * 200
    answers = [(response.json()[0]["label"], response.json()[0]["exit_layer"]) for response in responses]
    assert answers == [cli_answers[TEXTS[index % len(TEXTS)]] for index in range(200)]
    assert rows_after - rows_before == 200
    assert batches_after - batches_before < 200  # rows of different requests shared batches


def test_layer_schedule_answers_equal_epee_predict_under_concurrency(served_checkpoint, cli_answers, tmp_path):
    """``--schedule layer`` with batches of 4: requests join running ones at layer boundaries, same answers."""
    options = ["--schedule", "layer", "--max-batch-size", "4"]
    with running_server(served_checkpoint, tmp_path / "layer.log", options) as layer_server:

        async def send_all():
            async with httpx.AsyncClient(base_url=layer_server.url, timeout=60) as client:
                return await asyncio.gather(*(client.post("/predict", json={"inputs": text}) for text in TEXTS))

        responses = asyncio.run(send_all())
        info = httpx.get(layer_server.url + "/info").json()
    assert info["schedule"] == "layer"
    assert [response.status_code for response in responses] == [200] * len(TEXTS)
    answers = [(response.json()[0]["label"], response.json()[0]["exit_layer"]) for response in responses]
    assert answers == [cli_answers[text] for text in TEXTS]


def test_text_pairs_equal_the_runtime(server, served_checkpoint):
    pairs = [[TEXTS[index], TEXTS[-1 - index]] for index in range(6)]
    response = _post(server, "/predict", {"inputs": pairs})
    assert response.status_code == 200, response.text
    model = MultiExitModel.from_pretrained(served_checkpoint)
    expected = predict(model, [first for first, _ in pairs], [second for _, second in pairs])
    answers = response.json()
    assert [answer["label"] for answer in answers] == expected.labels
    assert [answer["exit_layer"] for answer in answers] == expected.exit_layer.tolist()


def test_open_inference_protocol_routes(server, cli_answers):
    name = "tiny-checkpoint"
    assert httpx.get(server.url + "/v2/health/live").json() == {"live": True}
    assert httpx.get(server.url + "/v2/health/ready").json() == {"ready": True}
    assert httpx.get(server.url + f"/v2/models/{name}/ready", headers=AUTH).json() == {"name": name, "ready": True}
    metadata = httpx.get(server.url + f"/v2/models/{name}", headers=AUTH).json()
    assert metadata["name"] == name and [tensor["name"] for tensor in metadata["inputs"]] == ["text", "text_pair"]
    body = {"id": "r1", "inputs": [{"name": "text", "shape": [len(TEXTS)], "datatype": "BYTES", "data": TEXTS}]}
    response = _post(server, f"/v2/models/{name}/infer", body)
    assert response.status_code == 200, response.text
    result = response.json()
    outputs = {output["name"]: output for output in result["outputs"]}
    assert result["model_name"] == name and result["id"] == "r1"
    assert list(zip(outputs["label"]["data"], outputs["exit_layer"]["data"], strict=True)) == [
        cli_answers[text] for text in TEXTS
    ]
    assert outputs["probabilities"]["shape"] == [len(TEXTS), 3] and outputs["exit_layer"]["datatype"] == "INT64"
    only = _post(server, f"/v2/models/{name}/infer", {**body, "outputs": [{"name": "exit_layer"}]}).json()
    assert [output["name"] for output in only["outputs"]] == ["exit_layer"]
    missing = httpx.get(server.url + "/v2/models/other", headers=AUTH)
    assert missing.status_code == 404 and "tiny-checkpoint" in missing.json()["error"]


def test_info_describes_the_model_policy_and_limits(server):
    info = httpx.get(server.url + "/info", headers=AUTH).json()
    assert info["labels"] == ["better", "same", "worse"] and info["exit_layers"] == [1, 2, 3, 4]
    assert info["policy"]["name"] == "maxprob" and info["auth"] is True
    assert info["limits"] == {"max_body_bytes": 20000, "max_texts_per_request": 64, "max_chars_per_text": 500}


def test_full_depth_runs_every_layer_and_the_metrics_count_exit_layers(server):
    def exit_layer_series():
        text = httpx.get(server.url + "/metrics", headers=AUTH).text
        series = dict(
            re.findall(
                r'^epee_exit_layer_(bucket\{le="3.0",policy="full_depth"\}|count\{policy="full_depth"\}) (\S+)$',
                text,
                re.M,
            )
        )
        return float(series.get('bucket{le="3.0",policy="full_depth"}', 0)), float(
            series.get('count{policy="full_depth"}', 0)
        )

    below_before, count_before = exit_layer_series()
    answers = _post(server, "/predict", {"inputs": TEXTS[:10], "parameters": {"full_depth": True}}).json()
    assert [answer["exit_layer"] for answer in answers] == [4] * 10
    below_after, count_after = exit_layer_series()
    assert (below_after - below_before, count_after - count_before) == (0, 10)


def test_a_request_policy_overrides_the_calibrated_one(server):
    body = {"inputs": TEXTS[:5], "parameters": {"policy": "budget", "policy_params": {"exit_layer": 2}}}
    answers = _post(server, "/predict", body).json()
    assert [answer["exit_layer"] for answer in answers] == [2] * 5


LONG = "Zorvex999 " * 60
BAD_REQUESTS = [
    ({"inputs": ["Zorvex998 words"] * 65}, 413, "max_texts_per_request"),
    ({"inputs": [LONG]}, 413, "max_chars_per_text"),
    ({"inputs": [[TEXTS[0], LONG]]}, 413, "max_chars_per_text"),
    ({"inputs": "x" * 30000}, 413, "max_body_bytes"),
    ({"inputs": 5}, 422, None),
    ({"inputs": ["Zorvex997", 3]}, 422, None),
    ({"inputs": []}, 422, None),
    ({"inputs": ["   "]}, 422, None),
    ({"inputs": "Zorvex996", "parameters": {"top_k": "many"}}, 422, None),
    ({"inputs": "Zorvex996", "parameters": {"topk": 2}}, 422, None),
    ({"inputs": "Zorvex996", "extra": 1}, 422, None),
    ({"inputs": "Zorvex996", "parameters": {"policy": "nope"}}, 422, None),
    ({"inputs": "Zorvex996", "parameters": {"policy": "oracle"}}, 422, None),
    ({"inputs": "Zorvex996", "parameters": {"policy": "entropy", "policy_params": {"tau": [1]}}}, 422, None),
    ({"inputs": "Zorvex996", "parameters": {"policy_params": {"tau": 1}}}, 422, None),
    ({"inputs": "Zorvex996", "parameters": {"policy": "entropy", "full_depth": True}}, 422, None),
]


@pytest.mark.parametrize(("body", "status", "limit"), BAD_REQUESTS)
def test_bad_requests_get_a_json_error_that_names_the_problem_not_the_text(server, body, status, limit):
    response = _post(server, "/predict", body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["error"].endswith(".") and error.get("limit") == limit
    assert "Zorvex" not in response.text and "xxxx" not in response.text


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b'{"inputs": ["unclosed', 422),
        (b"not json at all", 422),
        (b'{"inputs": "\\ud800 Zorvex995"}', 422),  # a lone surrogate: valid JSON, not encodable text
        (b'{"inputs": ' + b"[" * 5000 + b"]" * 5000 + b"}", 422),
    ],
)
def test_malformed_bodies_are_422(server, content, status):
    response = httpx.post(
        server.url + "/predict", content=content, headers={**AUTH, "Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == status, response.text
    assert "error" in response.json() and "Zorvex" not in response.text


def test_a_streamed_body_over_the_limit_is_413(server):
    def chunks():
        yield b'{"inputs": "'
        for _ in range(30):
            yield b"y" * 1000
        yield b'"}'

    response = httpx.post(
        server.url + "/predict", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 413 and response.json()["limit"] == "max_body_bytes"


@pytest.mark.parametrize(
    "tensor",
    [
        {"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]},
        {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["Zorvex994"]},
        {"name": "image", "shape": [1], "datatype": "BYTES", "data": ["Zorvex994"]},
        {"name": "text", "shape": [1], "datatype": "BYTES", "data": [7]},
    ],
)
def test_bad_infer_tensors_are_422(server, tensor):
    response = _post(server, "/v2/models/tiny-checkpoint/infer", {"inputs": [tensor]})
    assert response.status_code == 422 and "error" in response.json() and "Zorvex" not in response.text


def test_auth_refuses_requests_without_the_token(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = _post(server, "/predict", {"inputs": "Zorvex993"}, headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error_type"] == "unauthorized"
    assert httpx.get(server.url + "/metrics").status_code == 401
    assert httpx.get(server.url + "/v2/models/tiny-checkpoint").status_code == 401
    assert httpx.get(server.url + "/v2/health/ready").status_code == 200


def test_logs_never_hold_input_text(server):
    """Runs last in this module: every request above has been logged by now."""
    log = server.log()
    access = [line for line in log.splitlines() if "epee.serve.access" in line]
    assert len(access) >= 200 and all("request_id=" in line and "rows=" in line for line in access)
    assert any("exit_layers={" in line and '"4":' in line for line in access)
    assert not re.search(r"Zorvex|nausea|insomnia|better|worse", log)
