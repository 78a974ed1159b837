"""A multi-exit ViT trained from scratch: it learns, checkpoints exactly, and the CLI trains it on a MedMNIST file."""

import numpy as np
import torch
from typer.testing import CliRunner

from epee.cli.main import app
from epee.data import Dataset, ImageExample
from epee.defaults import SCRATCH_LEARNING_RATE
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for
from epee.train import TrainingSettings
from epee.train.settings import scratch_epochs
from epee.workflow.fit import build_image_model, train_on_dataset


def _images(count, seed):
    """Bright images are ``pneumonia``, dark ones ``normal``: separable from the first layer on."""
    rng = np.random.default_rng(seed)
    examples = []
    for row in range(count):
        bright = row % 2 == 1
        low, high = (150, 256) if bright else (0, 106)
        image = rng.integers(low, high, size=(8, 8), dtype=np.uint8)
        examples.append(ImageExample(image=image, labels=("pneumonia" if bright else "normal",)))
    return examples


def _dataset():
    return Dataset(
        name="bright-vs-dark",
        task="single_label",
        label_names=["normal", "pneumonia"],
        train=_images(64, 0),
        dev=_images(16, 1),
        test=_images(16, 2),
        metric="accuracy",
    )


def test_a_scratch_vit_learns_at_every_exit_and_reloads_bit_identically(tmp_path):
    torch.manual_seed(0)
    dataset = _dataset()
    model = build_image_model(dataset, num_layers=2)
    assert model.config.model_type == "vit" and model.exit_layers == [1, 2]
    settings = TrainingSettings(epochs=4, batch_size=16, learning_rate=1e-3, seed=0)
    history = train_on_dataset(model, dataset, settings).history
    assert min(history.best.dev_exit_metrics) == 1.0

    model.save_pretrained(tmp_path / "vit")
    reloaded = MultiExitModel.from_pretrained(tmp_path / "vit")
    featurizer = featurizer_for(reloaded)
    split = encode_split(featurizer, dataset.test, reloaded)
    batch = featurizer.collate(split.features)
    with torch.inference_mode():
        assert torch.equal(model.eval()(batch), reloaded(batch))


def test_epee_train_fits_a_scratch_vit_on_a_medmnist_file(tmp_path):
    arrays = {}
    for prefix, seed in (("train", 0), ("val", 1), ("test", 2)):
        examples = _images(8, seed)
        arrays[f"{prefix}_images"] = np.stack([example.image for example in examples])
        arrays[f"{prefix}_labels"] = np.array([[example.labels[0] == "pneumonia"] for example in examples], np.uint8)
    (tmp_path / "pneumoniamnist").mkdir()
    np.savez(tmp_path / "pneumoniamnist" / "pneumoniamnist.npz", **arrays)
    output = tmp_path / "vit"
    command = ["train", "--dataset", "pneumoniamnist", "--data-dir", str(tmp_path), "--epochs", "1", "-o", str(output)]

    refused = CliRunner().invoke(app, [*command, "--peft", "lora"])
    assert refused.exit_code == 2 and "ViT from scratch" in refused.output
    assert not output.exists()

    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    config = MultiExitModel.from_pretrained(output).config
    assert (config.model_type, config.peft, config.label_names) == ("vit", None, ["normal", "pneumonia"])
    assert config.training["settings"]["learning_rate"] == 1e-3


def test_without_epochs_a_scratch_vit_trains_for_a_few_hundred_steps():
    dataset = _dataset()
    model = build_image_model(dataset, num_layers=1)
    train_on_dataset(model, dataset, TrainingSettings(batch_size=16, max_steps=2, seed=0))
    settings = model.config.training["settings"]
    assert settings["epochs"] == scratch_epochs(64, 16) == 75 and settings["learning_rate"] == SCRATCH_LEARNING_RATE
    assert settings["augment"] is True
