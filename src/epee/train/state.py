"""A resumable training state on disk: model, optimizer, scheduler, sampler position, RNG, history.

Written through :func:`epee.atomic.atomic_directory`, so a run killed while saving keeps the
previous state whole. The tensors go to one ``torch.save`` file read back with
``weights_only=True`` (no pickled code runs on load); ``training_state.json`` beside it says what
the state is (for people, and as the marker that lets epee replace the directory).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from epee.atomic import atomic_directory
from epee.errors import EpeeError

MARKER = "training_state.json"
TENSORS = "training_state.pt"


def has_training_state(directory: Path) -> bool:
    return (Path(directory) / MARKER).is_file() and (Path(directory) / TENSORS).is_file()


def save_training_state(directory: Path, state: dict[str, Any], summary: dict[str, Any]) -> None:
    """Replace ``directory`` with ``state`` (tensors, numbers, lists, dicts) and a JSON ``summary``."""
    with atomic_directory(Path(directory), marker=MARKER, kind="training state") as staging:
        torch.save(state, staging / TENSORS)
        (staging / MARKER).write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")


def load_training_state(directory: Path) -> dict[str, Any]:
    directory = Path(directory)
    if not has_training_state(directory):
        raise EpeeError(
            f"{directory} holds no training state ({MARKER} and {TENSORS}); pass the directory a run saved."
        )
    try:
        return torch.load(directory / TENSORS, weights_only=True)
    except Exception as error:  # a damaged or foreign file: say which, not a pickle traceback
        raise EpeeError(
            f"{directory / TENSORS} cannot be read as a training state ({type(error).__name__}); "
            "start the run again without resuming."
        ) from None


def read_run_context(directory: Path) -> dict[str, Any]:
    """What the run that saved the state was started with (data recipe, model and training settings)."""
    directory = Path(directory)
    if not has_training_state(directory):
        raise EpeeError(
            f"{directory} holds no training state ({MARKER} and {TENSORS}); pass the directory a run saved."
        )
    summary = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    if not isinstance(summary.get("run"), dict):
        raise EpeeError(f"{directory / MARKER} does not say how its run was started; start the run again.")
    return summary["run"]


def remove_training_state(directory: Path) -> None:
    """Delete a state once its run's checkpoint is written; only a directory that holds one."""
    if has_training_state(directory):
        shutil.rmtree(directory)
