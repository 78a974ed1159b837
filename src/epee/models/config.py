"""The epee configuration of a multi-exit model: everything needed to rebuild it from a directory."""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from epee.atomic import write_text_atomically
from epee.data.examples import TASKS
from epee.errors import EpeeError

POOLERS = ("shared", "per_exit", "none", "mlp")
TRUNCATIONS = ("head", "head_tail")
CONFIG_NAME = "epee_config.json"
POLICY_NAME = "policy.json"
FORMAT_VERSION = 2
"""Version 2 keeps the policy and its calibration in the ``policy.json`` sidecar and records the data recipe
and the backbone's revision; version 1 (no ``format_version`` key) kept them in ``epee_config.json``."""
SIDECAR_FIELDS = ("policy", "calibration")


@dataclass
class MultiExitConfig:
    """Settings of a multi-exit model, saved as ``epee_config.json`` (and ``policy.json``) in a checkpoint.

    ``backbone`` is the reference the backbone was loaded from (a bundled alias, a hub name or a
    path) and ``backbone_revision`` what exactly was there (a Hub commit or the sha256 of the weight
    files), checked when an adapter-only checkpoint reloads it; ``peft`` is ``None`` for full
    fine-tuning, else the adapter settings; ``training`` the settings and history; ``policy`` and
    ``calibration`` are filled in by ``epee calibrate``; ``data_recipe`` (an
    :class:`epee.data.recipe.DataRecipe`) says which data the model was trained on.
    """

    backbone: str
    model_type: str
    task: str
    label_names: list[str]
    first_exit_layer: int = 1
    exit_every: int = 1
    pooling: str | None = None
    pooler: str = "per_exit"
    dropout: float = 0.1
    max_length: int = 128
    truncation: str = "head"
    peft: dict[str, Any] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    data_recipe: dict[str, Any] | None = None
    backbone_revision: str | None = None
    policy: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._check_types()
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
        if self.exit_every < 1:
            raise EpeeError(f"exit_every must be >= 1 (an exit every that many layers), got {self.exit_every}.")
        if not 0.0 <= self.dropout < 1.0:
            raise EpeeError(f"Dropout must be in [0, 1), got {self.dropout}.")
        if self.max_length < 1:
            raise EpeeError(
                f"max_length must be at least 1 token, got {self.max_length}; 0 would turn truncation off and "
                f"crash on the first long input."
            )

    def _check_types(self) -> None:
        """Types first: a hand-edited config with a string for label_names would otherwise pass as its letters."""
        if not isinstance(self.label_names, list) or not all(
            isinstance(name, str) and name.strip() for name in self.label_names
        ):
            raise EpeeError(
                f"label_names must be a list of non-empty label strings, got a {type(self.label_names).__name__} "
                f"({_shape_of(self.label_names)}); check that the config's fields were not swapped or edited."
            )
        for name in ("backbone", "model_type", "task", "pooler", "truncation"):
            if not isinstance(getattr(self, name), str):
                raise EpeeError(f"The config field {name!r} must be a string, got {_shape_of(getattr(self, name))}.")
        for name in ("first_exit_layer", "exit_every", "max_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise EpeeError(f"The config field {name!r} must be a whole number, got {_shape_of(value)}.")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float):
            raise EpeeError(f"The config field 'dropout' must be a number, got {_shape_of(self.dropout)}.")
        for name in ("peft", "policy", "calibration"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), dict):
                raise EpeeError(
                    f"The config field {name!r} must be an object or null, got {_shape_of(getattr(self, name))}."
                )

    def exit_layers(self, num_layers: int) -> list[int]:
        """The 1-based layers with an exit in a backbone of ``num_layers``: every multiple of ``exit_every`` from
        ``first_exit_layer`` on, and always the last layer (the full model's answer).

        A 30-layer decoder with ``exit_every=3`` has exits at 3, 6, ..., 30: a tenth of the heads and policy steps
        of an exit at every layer, which cost several percent of a full-depth pass.
        """
        if self.first_exit_layer > num_layers:
            raise EpeeError(f"first_exit_layer {self.first_exit_layer} is beyond the backbone's {num_layers} layers.")
        if self.exit_every > num_layers:
            raise EpeeError(
                f"exit_every {self.exit_every} is more than the backbone's {num_layers} layers; give 1 to {num_layers}."
            )
        layers = [layer for layer in range(self.first_exit_layer, num_layers + 1) if layer % self.exit_every == 0]
        return layers if layers and layers[-1] == num_layers else [*layers, num_layers]

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def multi_label(self) -> bool:
        return self.task == "multi_label"

    def config_json(self) -> str:
        """``epee_config.json``: everything but the policy sidecar, in the current format."""
        values = {name: value for name, value in asdict(self).items() if name not in SIDECAR_FIELDS}
        return json.dumps({"format_version": FORMAT_VERSION, **values}, indent=2) + "\n"

    def save(self, directory: Path) -> None:
        """Write ``epee_config.json`` and the ``policy.json`` sidecar into ``directory``."""
        write_text_atomically(directory / CONFIG_NAME, self.config_json())
        self.save_policy(directory)

    def save_policy(self, directory: Path) -> None:
        """Write only the policy sidecar, atomically: what calibrating a checkpoint changes (a few kilobytes)."""
        sidecar = {name: getattr(self, name) for name in SIDECAR_FIELDS}
        write_text_atomically(directory / POLICY_NAME, json.dumps(sidecar, indent=2, allow_nan=False) + "\n")

    @staticmethod
    def stored_format(directory: Path) -> int:
        """The checkpoint format of ``directory`` (1 when the config predates ``format_version``)."""
        return json.loads((directory / CONFIG_NAME).read_text()).get("format_version", 1)

    @classmethod
    def load(cls, directory: Path) -> MultiExitConfig:
        """Read a checkpoint's config; a version-1 checkpoint (policy inside the config) is migrated on the fly."""
        path = directory / CONFIG_NAME
        if not path.is_file():
            raise EpeeError(f"{directory} is not an epee checkpoint: it has no {CONFIG_NAME}.")
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EpeeError(f"{path} is not valid JSON ({error}); the checkpoint is damaged.") from None
        if not isinstance(values, dict):
            raise EpeeError(f"{path} holds a JSON {type(values).__name__}, not an object of settings.")
        version = values.pop("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise EpeeError(
                f"{path} was written by a newer epee (checkpoint format {version}); upgrade epee to load it."
            )
        if version >= 2:
            sidecar = directory / POLICY_NAME
            if sidecar.is_file():
                try:
                    values.update(json.loads(sidecar.read_text(encoding="utf-8")))
                except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError) as error:
                    raise EpeeError(f"{sidecar} is not valid JSON ({error}); the checkpoint is damaged.") from None
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise EpeeError(f"{path} has settings this version of epee does not know: {unknown}.")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in values]
        if missing:
            raise EpeeError(f"{path} lacks the required settings {missing}; the checkpoint is damaged or incomplete.")
        return cls(**values)


def _shape_of(value: Any) -> str:
    """A value's type and size for an error, without printing a possibly long value."""
    if isinstance(value, str | list | dict):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"
