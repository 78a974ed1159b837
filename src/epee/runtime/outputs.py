"""Output files and directories, checked before any work starts (writing itself is :mod:`epee.atomic`).

Checking first matters because inference and training take minutes to hours: a path that cannot be
written, or that would replace the user's input, must stop the command before the work, not after it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from epee.data.tabular import same_file
from epee.errors import EpeeError


def check_output_file(
    path: Path,
    formats: Sequence[str],
    *,
    inputs: Sequence[Path] = (),
    overwrite: bool = False,
    option: str = "--output",
) -> None:
    """Refuse an output that would replace an input, silently replace a file, or cannot be written.

    ``inputs`` are never overwritten, whatever ``overwrite`` says; an existing file is replaced only
    with ``overwrite``.
    """
    path = Path(path)
    if path.suffix.lower() not in formats:
        raise EpeeError(f"{option} {path} must end in one of {tuple(formats)}.")
    for source in inputs:
        if same_file(path, source):
            raise EpeeError(f"{option} {path} is the input file; writing it would destroy the input. Choose another.")
    if path.is_dir():
        raise EpeeError(f"{option} {path} is a directory; give a file name such as {path / 'predictions'}.jsonl.")
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise EpeeError(f"{option} {path} exists and is not a regular file; choose another path.")
        if not overwrite:
            raise EpeeError(f"{option} {path} already exists; pass --overwrite to replace it, or choose another.")
    check_writable_directory(path.parent, option=option)


def check_output_directory(path: Path, *, option: str = "--output") -> None:
    """Refuse an output directory that is a file, is not empty, or cannot be created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise EpeeError(f"{option} {path} is a file, not a directory; choose a new directory.")
    if path.is_dir() and any(path.iterdir()):
        raise EpeeError(f"The output directory {path} already exists and is not empty; choose another.")
    check_writable_directory(path if path.is_dir() else path.parent, option=option)


def check_writable_directory(directory: Path, *, option: str = "--output") -> None:
    """Whether files can be created in ``directory`` (or in the nearest existing folder above it).

    A real probe file is created and removed, because permission bits do not tell about read-only
    mounts, and a superuser passes every permission check.
    """
    existing = Path(directory).absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise EpeeError(f"Cannot write {option} under {directory}: {existing} is a file, not a directory.")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise EpeeError(f"Cannot write {option} under {directory}: {error.strerror} in {existing}.") from None
