"""``epee export`` then ``epee predict --engine onnx`` (and the service on the ONNX engine) answer as PyTorch."""

import asyncio
import json

import pytest
import torch
from typer.testing import CliRunner

from epee.cli.main import app
from tests.helpers import tiny_bert_model

pytest.importorskip("onnxruntime", reason='the ONNX engine needs the onnx extra: pip install -e ".[onnx]"')
pytest.importorskip("onnxscript", reason='ONNX export needs the onnx extra: pip install -e ".[onnx]"')

runner = CliRunner()
TEXTS = ["aspirin helps", "no effect at all on the pain", "works well", "did nothing", "ok"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    model = tiny_bert_model(labels=("no", "yes"))
    with torch.no_grad():
        for parameter in model.heads.parameters():
            parameter.mul_(30)
    model.eval()
    with torch.inference_mode():
        first_exit = model(dict(model.tokenizer(TEXTS, padding=True, return_tensors="pt")))[0]
    # The median first-exit confidence as the threshold: some rows leave at layer 1, the others go on.
    threshold = float(first_exit.softmax(-1).amax(-1).median()) + 1e-6
    model.config.policy = {"name": "maxprob", "params": {"threshold": threshold}}
    model.save_pretrained(root / "checkpoint")
    result = runner.invoke(app, ["export", str(root / "checkpoint"), "--output", str(root / "onnx")])
    assert result.exit_code == 0, result.output
    assert "Exported 3 segments" in " ".join(result.output.split())
    return root


def _predict(root, source, engine):
    data = root / "texts.csv"
    data.write_text("text\n" + "\n".join(TEXTS) + "\n")
    output = root / f"{engine}.jsonl"
    result = runner.invoke(
        app, ["predict", str(root / source), str(data), "-o", str(output), "--engine", engine, "--overwrite"]
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in output.read_text().splitlines()]


def test_predict_on_the_onnx_engine_equals_torch(exported):
    expected = _predict(exported, "checkpoint", "torch")
    actual = _predict(exported, "onnx", "onnx")
    assert [row["exit_layer"] for row in actual] == [row["exit_layer"] for row in expected]
    assert len({row["exit_layer"] for row in expected}) > 1, "the calibrated policy must split the rows"
    assert [row["label"] for row in actual] == [row["label"] for row in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)


def test_export_refuses_an_unknown_quantization_and_predict_a_checkpoint_as_onnx(exported, tmp_path):
    result = runner.invoke(
        app, ["export", str(exported / "checkpoint"), "-o", str(tmp_path / "x"), "--quantize", "int4"]
    )
    assert result.exit_code == 2 and "Quantization 'int4' is not available" in " ".join(result.output.split())
    data = tmp_path / "texts.csv"
    data.write_text("text\nok\n")
    result = runner.invoke(
        app, ["predict", str(exported / "checkpoint"), str(data), "-o", str(tmp_path / "p.jsonl"), "--engine", "onnx"]
    )
    assert result.exit_code == 2 and "is not an ONNX export" in " ".join(result.output.split())


def test_the_service_runs_on_the_onnx_engine(exported):
    from epee.models import MultiExitModel
    from epee.runtime.onnx_engine import OnnxModel
    from epee.serve import PredictionService, ServeSettings

    answers = {}
    for engine, model in (
        ("torch", MultiExitModel.from_pretrained(exported / "checkpoint")),
        ("onnx", OnnxModel.load(exported / "onnx")),
    ):
        service = PredictionService(model, ServeSettings(engine=engine), "tiny")
        service.start()
        try:
            key, policy = service.choose_policy(None)
            answers[engine] = asyncio.run(service.predict(TEXTS, None, key, policy))
        finally:
            service.close()
    assert answers["onnx"].exit_layer.tolist() == answers["torch"].exit_layer.tolist()
    torch.testing.assert_close(answers["onnx"].logits, answers["torch"].logits, atol=1e-4, rtol=0)
