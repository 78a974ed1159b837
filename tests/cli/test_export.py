"""``epee export`` then ``epee predict --engine onnx`` (and the service on the ONNX engine) answer as PyTorch;
``epee calibrate --engine onnx`` chooses on an export's own exits: on fp32 graphs what the checkpoint gives."""

import asyncio
import json

import pytest
import torch
from typer.testing import CliRunner

from epee.cli.main import app
from tests.helpers import tiny_bert_model, varied_texts

pytest.importorskip("onnxruntime", reason='the ONNX engine needs the onnx extra: pip install -e ".[onnx]"')
pytest.importorskip("onnxscript", reason='ONNX export needs the onnx extra: pip install -e ".[onnx]"')

runner = CliRunner()
TEXTS = ["aspirin helps", "no effect at all on the pain", "works well", "did nothing", "ok"]
DEV_TEXTS = varied_texts(48, seed=3)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    model = tiny_bert_model(labels=("no", "yes"), first_exit_layer=2)  # two segments: the fewest graphs to export
    with torch.no_grad():
        for parameter in model.heads.parameters():
            parameter.mul_(30)
    model.eval()
    with torch.inference_mode():
        first_exit = model(dict(model.tokenizer(TEXTS, padding=True, return_tensors="pt")))[0]
    # Halfway between the median first-exit confidence and the next: two rows leave at layer 2, the others go on,
    # and no row sits within float noise of the threshold.
    confidence = first_exit.softmax(-1).amax(-1).sort().values
    threshold = float(confidence[2:4].mean())
    model.config.policy = {"name": "maxprob", "params": {"threshold": threshold}}
    model.save_pretrained(root / "checkpoint")
    result = runner.invoke(app, ["export", str(root / "checkpoint"), "--output", str(root / "onnx")])
    assert result.exit_code == 0, result.output
    assert "Exported 2 segments" in " ".join(result.output.split())
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


@pytest.fixture(scope="module")
def quantized(exported):
    """The same checkpoint exported with int8 weights, through the command."""
    result = runner.invoke(
        app, ["export", str(exported / "checkpoint"), "--output", str(exported / "int8"), "--quantize", "int8"]
    )
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "with int8 weights" in words
    assert f"choose it on these int8 graphs' own exits with `epee calibrate {exported / 'int8'} --engine onnx`" in words
    return exported / "int8"


def test_int8_quantizes_backbone_weights_only(exported, quantized):
    import onnx

    from epee.models import MultiExitModel
    from epee.policies import make_policy
    from epee.runtime import early_exit_forward
    from epee.runtime.onnx_engine import OnnxModel

    manifest = json.loads((quantized / "onnx_manifest.json").read_text())
    assert manifest["quantization"]["weight_type"] == "QInt8" and manifest["quantization"]["per_channel"]
    graph = onnx.load(str(quantized / "segment_00.onnx")).graph
    matmuls = [node for node in graph.node if node.op_type in ("DynamicQuantizeMatMul", "MatMulInteger")]
    assert len(matmuls) == 2 * 6  # two layers' query, key, value, attention output, intermediate, output projections
    float_weights = {init.name for init in graph.initializer if init.data_type == onnx.TensorProto.FLOAT}
    assert any("heads.classifiers.0" in name for name in float_weights), "exit heads stay fp32"
    model = MultiExitModel.from_pretrained(exported / "checkpoint")
    inputs = dict(model.tokenizer(TEXTS, padding=True, return_tensors="pt"))
    expected = early_exit_forward(model, inputs, make_policy("budget", exit_layer=2))
    actual = early_exit_forward(OnnxModel.load(quantized, threads=1), inputs, make_policy("budget", exit_layer=2))
    assert not torch.equal(actual.logits, expected.logits)  # quantized, so not bit-identical
    torch.testing.assert_close(actual.logits, expected.logits, atol=0.5, rtol=0.05)


def _labelled(root):
    """Train and dev files: the tiny model's dev exits differ in label and confidence across these texts."""
    words = ("aspirin", "helps", "better", "sleep")
    rows = [(text, "yes" if sum(word in text for word in words) > 1 else "no") for text in DEV_TEXTS]
    for name in ("train", "dev"):
        (root / f"{name}.csv").write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in rows))
    return ["--data", str(root / "train.csv"), "--dev", str(root / "dev.csv")]


def _calibrate(source, output, engine, data):
    result = runner.invoke(
        app, ["calibrate", str(source), *data, "--output", str(output), "--engine", engine, "--allow-degenerate"]
    )
    assert result.exit_code == 0, result.output
    return json.loads((output / "policy.json").read_text()), " ".join(result.output.split())


def test_calibrating_an_fp32_export_selects_what_calibrating_the_checkpoint_selects(exported, tmp_path):
    data = _labelled(tmp_path)
    expected, _ = _calibrate(exported / "checkpoint", tmp_path / "torch", "torch", data)
    actual, words = _calibrate(exported / "onnx", tmp_path / "onnx", "onnx", data)
    assert actual["calibration"].pop("engine") == {"name": "onnx", "quantization": None}
    assert actual == expected  # the same policy, per-exit metrics, frontier and FLOPs, from the graphs' own exits
    speedups = {point["layer_speedup"] for point in expected["calibration"]["result"]["points"]}
    assert len(speedups) > 2, "the policies' settings must exit at different depths on this dev split"
    assert "calibrated on this export's own ONNX Runtime graphs (fp32 weights)" in words
    manifest = json.loads((tmp_path / "onnx" / "onnx_manifest.json").read_text())
    assert (manifest["policy"], manifest["policy_source"]) == (actual["policy"], "these graphs")
    before = json.loads((exported / "onnx" / "onnx_manifest.json").read_text())
    assert before["policy_source"] == "checkpoint", "--output leaves the export calibrated from unchanged"
    assert [graph["sha256"] for graph in manifest["segments"]] == [graph["sha256"] for graph in before["segments"]]


def test_calibrating_an_int8_export_records_its_quantization(quantized, tmp_path):
    from epee.runtime.onnx_engine import OnnxModel

    stored, words = _calibrate(quantized, tmp_path / "calibrated", "onnx", _labelled(tmp_path))
    assert stored["calibration"]["engine"]["quantization"]["weight_type"] == "QInt8"
    assert "calibrated on this export's own ONNX Runtime graphs (int8 weights)" in words
    assert OnnxModel.load(tmp_path / "calibrated").config.policy == stored["policy"]


def test_calibrating_an_export_needs_the_onnx_engine(exported, tmp_path):
    result = runner.invoke(app, ["calibrate", str(exported / "onnx"), *_labelled(tmp_path)])
    assert result.exit_code == 2
    words = " ".join(result.output.split())
    assert "is an ONNX export, not a PyTorch checkpoint" in words and "take an export with --engine onnx" in words


def test_certifying_an_fp32_export_on_unlabelled_texts_gives_the_checkpoints_certificate(exported, tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("note\n" + "\n".join(varied_texts(200, seed=5)) + "\n")
    certified = {}
    for engine, source in (("torch", "checkpoint"), ("onnx", "onnx")):
        output = tmp_path / engine
        command = ["calibrate", str(exported / source), "--rule", "risk", "--risk", "consistency", "--epsilon", "10"]
        command += ["--calibration-data", str(notes), "--text-column", "note", "-o", str(output), "--engine", engine]
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        certified[engine] = json.loads((output / "policy.json").read_text())
    words = " ".join(result.output.split())
    assert "calibrated on this export's own ONNX Runtime graphs (fp32 weights)" in words
    assert certified["onnx"]["calibration"].pop("engine") == {"name": "onnx", "quantization": None}
    assert certified["onnx"] == certified["torch"]  # the same tested candidates, p-values and certified setting
    assert certified["torch"]["calibration"]["certificate"]["certified"], "a faster setting must be certified here"
