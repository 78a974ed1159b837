"""``epee serve`` refuses bad settings in one sentence before loading anything."""

import pytest
from typer.testing import CliRunner

from epee.cli.main import app


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--engine", "onnx"], "is not an ONNX export: it has no onnx_manifest.json"),
        (["--engine", "tensorrt"], "--engine must be one of ('torch', 'onnx'), got 'tensorrt'"),
        (["--max-queue", "8", "--max-texts-per-request", "16"], "exceeds --max-queue (8)"),
        (["--schedule", "token"], "--schedule must be one of ('batch', 'layer'), got 'token'"),
        (["--max-batch-size", "0"], "--max-batch-size must be a whole number >= 1, got 0"),
    ],
)
def test_bad_settings_fail_with_one_sentence(tmp_path, options, message):
    result = CliRunner().invoke(app, ["serve", str(tmp_path), *options])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_an_empty_token_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("EPEE_API_TOKEN", " ")
    result = CliRunner().invoke(app, ["serve", str(tmp_path)])
    assert result.exit_code == 2 and "EPEE_API_TOKEN is set but empty" in " ".join(result.output.split())
