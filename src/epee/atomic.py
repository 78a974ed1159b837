"""Atomic writes of files and directories: readers see the old version or the new one, never half of one.

Everything epee writes for a user (checkpoints, policy sidecars, reports, predictions, benchmark
results) goes through here: write beside the target, flush to disk, then rename into place. A
directory that already exists is replaced only when it carries the marker file that proves epee
wrote it (a checkpoint's ``epee_config.json``, a report's ``report.json``); anything else is refused,
never deleted.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from epee.errors import EpeeError


def check_replaceable(target: Path, marker: str, kind: str) -> None:
    """Refuse ``target`` unless it is absent, an empty directory, or a directory holding ``marker``.

    Call it before long work, so a run is not thrown away at the end.
    """
    if not target.exists():
        return
    if not target.is_dir():
        raise EpeeError(f"{target} exists and is not a directory; choose another {kind} directory.")
    if any(target.iterdir()) and not (target / marker).is_file():
        raise EpeeError(
            f"{target} is a non-empty directory without {marker}, so it is not a {kind} epee wrote; "
            f"choose an empty or new directory (it will not be overwritten)."
        )


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as stream:
                os.fsync(stream.fileno())
        fsync_directory(Path(folder))


def fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_directory(target: Path, *, marker: str, kind: str) -> Iterator[Path]:
    """Yield an empty staging directory beside ``target``; on success it replaces ``target`` as a whole.

    On any failure (an exception, Ctrl-C) the staging directory is removed and ``target`` is untouched.
    A previous ``target`` is moved aside first and deleted only once the new one is in place.
    """
    target = Path(target)
    check_replaceable(target, marker, kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        staging.chmod(0o755)
        yield staging
        _fsync_tree(staging)
        if target.exists():
            previous = staging.with_suffix(".previous")
            target.rename(previous)
            try:
                staging.rename(target)
            except BaseException:
                previous.rename(target)
                raise
            shutil.rmtree(previous, ignore_errors=True)
        else:
            staging.rename(target)
        fsync_directory(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def atomic_file(path: Path, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Yield a text stream to an unnamed temporary file beside ``path``; on success it becomes ``path``.

    The file gets a name only once it is complete (Linux ``O_TMPFILE``), so even a ``SIGKILL`` in the
    middle of writing leaves no partial file behind; elsewhere a named ``.partial`` file is the fallback.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle, temporary = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o666), None
    except (AttributeError, OSError):  # no O_TMPFILE: not Linux, or a file system without it
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        temporary = Path(name)
    try:
        with os.fdopen(handle, "w", newline=newline, encoding="utf-8") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
            if temporary is None:
                _link_into_place(stream.fileno(), path)
        if temporary is not None:
            os.replace(temporary, path)
        fsync_directory(path.parent)
    except BaseException:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise


def _link_into_place(descriptor: int, path: Path) -> None:
    """Name the unnamed file: directly when ``path`` is new, else beside it and renamed over it."""
    # linkat(2) must follow the /proc/self/fd link to the file; os.link only does so given a directory descriptor.
    descriptors = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            os.link(str(descriptor), path, src_dir_fd=descriptors, follow_symlinks=True)
            return
        except FileExistsError:
            pass
        beside = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        os.link(str(descriptor), beside, src_dir_fd=descriptors, follow_symlinks=True)
        os.replace(beside, path)
    finally:
        os.close(descriptors)


def write_text_atomically(path: Path, text: str) -> None:
    with atomic_file(path) as stream:
        stream.write(text)
