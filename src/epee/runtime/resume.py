"""A streaming run's output on disk: appended chunk by chunk, resumable after a crash, renamed when complete.

While a run is going, ``OUTPUT.partial`` (and ``OUTPUT.bad.jsonl.partial``) grow one finished chunk at a
time and ``OUTPUT.resume.json`` records how far they are valid: chunks done, input records consumed and
the byte length of each file. The journal is rewritten atomically only after the chunk's bytes are on
disk, so after a ``SIGKILL`` anywhere the journal never claims more than the files hold; ``--resume``
cuts the files back to the journal's lengths (a torn last write disappears) and skips the finished
records. The journal also holds the run's fingerprint (input file, options, model), and a resume
with any difference is refused: mixing two runs' rows in one file would be silently wrong.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from epee.atomic import fsync_directory, write_text_atomically
from epee.errors import EpeeError
from epee.runtime.table_io import bad_rows_path, partial_path


@dataclass
class Progress:
    """How much of a run is finished and durable."""

    chunks: int = 0
    records: int = 0  # input records consumed, good and bad
    rows: int = 0  # predictions written
    bad_rows: int = 0
    exit_layer_sum: int = 0
    output_bytes: int = 0
    bad_bytes: int = 0


def journal_path(output: Path) -> Path:
    return output.with_name(output.name + ".resume.json")


def unfinished_files(output: Path) -> list[Path]:
    """The files an interrupted streaming run towards ``output`` left behind."""
    candidates = (journal_path(output), partial_path(output), partial_path(bad_rows_path(output)))
    return [path for path in candidates if path.exists()]


def check_unfinished_run(output: Path, *, resume: bool, overwrite: bool) -> None:
    """Before any work: an interrupted run's files are continued with ``resume``, replaced with ``overwrite``,
    and otherwise kept (an error says which option to pass)."""
    left = unfinished_files(output)
    if resume and left and not journal_path(output).exists():
        raise EpeeError(
            f"{left[0]} exists but {journal_path(output)} does not, so there is no run to resume; "
            f"pass --overwrite instead of --resume to start again."
        )
    if left and not resume and not overwrite:
        raise EpeeError(
            f"An unfinished run towards {output} left {left[0]}; pass --resume to continue it, "
            f"or --overwrite to start again."
        )


class ResumableOutput:
    """The partial prediction and bad-rows files of one run and their journal (see the module docstring)."""

    def __init__(self, output: Path, fingerprint: dict, *, resume: bool):
        self.output = Path(output)
        self.fingerprint = fingerprint
        self.resume = resume
        self.journal = journal_path(self.output)
        self.parts = (partial_path(self.output), partial_path(bad_rows_path(self.output)))

    def open(self) -> Progress:
        """Where to continue: the journal's progress when resuming, else zero (earlier partial files go)."""
        if self.resume and self.journal.exists():
            progress = self._load()
            for part, length in zip(self.parts, (progress.output_bytes, progress.bad_bytes), strict=True):
                with open(part, "ab") as stream:  # creates a file the run had not begun yet
                    stream.truncate(length)
            return progress
        self.discard()
        progress = Progress()
        self._save(progress)  # the journal exists before any partial file, so a partial file is always ours
        return progress

    def append(self, progress: Progress, predictions: bytes, bad_rows: bytes) -> None:
        """Write one finished chunk's bytes, make them durable, then advance the journal to ``progress``."""
        for part, data in zip(self.parts, (predictions, bad_rows), strict=True):
            with open(part, "ab") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        self._save(progress)

    def finish(self, progress: Progress) -> Path | None:
        """Rename the complete files into place; returns the bad-rows file, if any rows were set aside."""
        predictions, bad = self.parts
        os.replace(predictions, self.output)
        bad_target = bad_rows_path(self.output)
        if progress.bad_rows:
            os.replace(bad, bad_target)
        else:
            bad.unlink(missing_ok=True)
            bad_target.unlink(missing_ok=True)  # an earlier run's file (only reached with --overwrite)
        self.journal.unlink()
        fsync_directory(self.output.parent)
        return bad_target if progress.bad_rows else None

    def discard(self) -> None:
        """Remove the partial files and the journal (a failed or restarted run)."""
        for path in (*self.parts, self.journal):
            path.unlink(missing_ok=True)

    def _save(self, progress: Progress) -> None:
        record = {"fingerprint": self.fingerprint, "progress": asdict(progress)}
        write_text_atomically(self.journal, json.dumps(record, indent=1) + "\n")

    def _load(self) -> Progress:
        try:
            record = json.loads(self.journal.read_text())
            stored, progress = record["fingerprint"], Progress(**record["progress"])
        except (ValueError, KeyError, TypeError):
            raise EpeeError(
                f"{self.journal} is damaged, so the run cannot be resumed; pass --overwrite to start again."
            ) from None
        changed = sorted(
            key for key in self.fingerprint.keys() | stored.keys() if stored.get(key) != self.fingerprint.get(key)
        )
        if changed:
            raise EpeeError(
                f"The unfinished run in {self.journal} had other settings ({', '.join(changed)} differ); "
                f"resume with the same input, model and options, or pass --overwrite to start again."
            )
        return progress
