"""The epee configuration of a multi-exit model: everything needed to rebuild it from a directory."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from epee.errors import EpeeError

TASKS = ("single_label", "multi_label")
POOLERS = ("shared", "per_exit", "none")
TRUNCATIONS = ("head", "head_tail")
CONFIG_NAME = "epee_config.json"


@dataclass
class MultiExitConfig:
    """Settings of a multi-exit model, saved as ``epee_config.json`` in a checkpoint.

    ``backbone`` is the reference the backbone was loaded from (a bundled alias, a hub name or a
    path); ``peft`` is ``None`` for full fine-tuning, else the adapter settings; ``policy`` and
    ``calibration`` are filled in by ``epee calibrate``; ``data_recipe`` (an
    :class:`epee.data.recipe.DataRecipe`) says which data the model was trained on.
    """

    backbone: str
    model_type: str
    task: str
    label_names: list[str]
    first_exit_layer: int = 1
    pooling: str | None = None
    pooler: str = "per_exit"
    dropout: float = 0.1
    max_length: int = 128
    truncation: str = "head"
    peft: dict[str, Any] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    data_recipe: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise EpeeError(f"Task {self.task!r} is unknown; choose one of {TASKS}.")
        if len(self.label_names) < 2 and self.task == "single_label":
            raise EpeeError(
                f"A single-label task needs at least 2 classes, got {len(self.label_names)}: {self.label_names}."
            )
        if len(set(self.label_names)) != len(self.label_names):
            raise EpeeError(f"Label names must be unique, got {self.label_names}.")
        if self.pooler not in POOLERS:
            raise EpeeError(f"Pooler {self.pooler!r} is unknown; choose one of {POOLERS}.")
        if self.truncation not in TRUNCATIONS:
            raise EpeeError(f"Truncation {self.truncation!r} is unknown; choose one of {TRUNCATIONS}.")
        if self.first_exit_layer < 1:
            raise EpeeError(f"first_exit_layer must be >= 1 (layers are numbered from 1), got {self.first_exit_layer}.")
        if not 0.0 <= self.dropout < 1.0:
            raise EpeeError(f"Dropout must be in [0, 1), got {self.dropout}.")

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def multi_label(self) -> bool:
        return self.task == "multi_label"

    def save(self, directory: Path) -> None:
        (directory / CONFIG_NAME).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> MultiExitConfig:
        path = directory / CONFIG_NAME
        if not path.is_file():
            raise EpeeError(f"{directory} is not an epee checkpoint: it has no {CONFIG_NAME}.")
        values = json.loads(path.read_text())
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise EpeeError(f"{path} has settings this version of epee does not know: {unknown}.")
        return cls(**values)
