"""`epee train --data` on the user's own images: a MedMNIST-layout .npz and an image folder train, predict,
calibrate and report as the registered image set does."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from epee.cli.main import app
from epee.models import MultiExitModel

runner = CliRunner()
FAST = ["--epochs", "2", "--batch-size", "8", "--seed", "0"]


def _image(bright: bool, rng: np.random.Generator, shape=(8, 8)) -> np.ndarray:
    low, high = (150, 256) if bright else (0, 106)
    return rng.integers(low, high, size=shape, dtype=np.uint8)


def _invoke(*arguments: str):
    result = runner.invoke(app, list(arguments))
    assert result.exit_code == 0, result.output
    return result


def _check_predictions(path, count, names=None):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["row"] for row in rows] == list(range(1, count + 1))
    if names is not None:
        assert [row["image"] for row in rows] == names
    assert all(abs(sum(row["probabilities"].values()) - 1) < 1e-5 and row["exit_layer"] >= 1 for row in rows)
    return rows


@pytest.mark.parametrize("layout", ["npz", "folder"])
def test_user_images_train_predict_calibrate_and_report(tmp_path, layout):
    rng = np.random.default_rng(0)
    if layout == "npz":
        arrays = {}
        for prefix, count in (("train", 32), ("val", 8), ("test", 8)):
            bright = np.arange(count) % 2 == 1
            arrays[f"{prefix}_images"] = np.stack([_image(flag, rng) for flag in bright])
            arrays[f"{prefix}_labels"] = bright.astype(np.uint8).reshape(-1, 1)
        data = tmp_path / "mine.npz"
        np.savez(data, **arrays)
        to_predict, names = data, [f"test_images[{index}]" for index in range(8)]
        labels = ["0", "1"]
    else:
        data = tmp_path / "scans"
        for label in ("dark", "light"):
            for index in range(20):
                (data / label).mkdir(parents=True, exist_ok=True)
                shape = (8, 8) if index % 2 else (12, 10, 3)  # sizes and colour modes mixed: all resized
                image = _image(label == "light", rng, shape)
                Image.fromarray(image).save(data / label / f"{index:02d}.{'png' if index % 3 else 'jpg'}")
        to_predict, names = data / "light", [f"{index:02d}.{'png' if index % 3 else 'jpg'}" for index in range(20)]
        labels = ["dark", "light"]
    checkpoint = tmp_path / "model"
    trained = _invoke("train", "--data", str(data), "-o", str(checkpoint), *FAST)
    assert "per exit" in trained.output
    config = MultiExitModel.from_pretrained(checkpoint).config
    assert (config.model_type, config.label_names) == ("vit", labels)
    assert config.data_recipe["data"] == str(data.resolve())

    _invoke("calibrate", str(checkpoint))
    output = tmp_path / "predictions.jsonl"
    _invoke("predict", str(checkpoint), str(to_predict), "-o", str(output))
    rows = _check_predictions(output, len(names), names)
    assert {row["label"] for row in rows} <= set(labels)
    _invoke("evaluate", str(checkpoint))
    report = tmp_path / "report"
    _invoke("report", str(checkpoint), "-o", str(report))
    assert (report / "report.html").is_file()


def test_a_text_model_refuses_images_and_an_image_model_a_table(tmp_path):
    rng = np.random.default_rng(1)
    images = np.stack([_image(index % 2 == 1, rng) for index in range(24)])
    np.savez(tmp_path / "tiny.npz", train_images=images, train_labels=np.arange(24) % 2)
    checkpoint = tmp_path / "model"
    _invoke("train", "--data", str(tmp_path / "tiny.npz"), "-o", str(checkpoint), "--max-steps", "1", "--seed", "0")
    (tmp_path / "notes.csv").write_text("text\nchest pain\n")
    notes, output = str(tmp_path / "notes.csv"), str(tmp_path / "o.jsonl")
    result = runner.invoke(app, ["predict", str(checkpoint), notes, "-o", output])
    assert result.exit_code == 2 and "this model reads images" in " ".join(result.output.split())
