"""A checkpoint together with the data to judge it on: its recorded recipe, with the user's overrides.

Used by every command that works on a trained model (calibrate, evaluate, report), so all of them
choose and report on the splits the model was trained with, unless told otherwise — and refuse a dev
split that holds training rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from epee.data import Dataset
from epee.data.examples import with_label_order
from epee.data.recipe import DataRecipe, check_dev_is_unseen
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.runtime.onnx_export import MANIFEST_NAME


def recipe_for(model: MultiExitModel, overrides: Mapping[str, Any]) -> tuple[DataRecipe | None, DataRecipe]:
    """(the recorded recipe or ``None`` for checkpoints that predate it, the recipe to use now)."""
    recorded = DataRecipe.from_dict(model.config.data_recipe) if model.config.data_recipe else None
    return recorded, (recorded or DataRecipe()).with_overrides(overrides)


def load_model(checkpoint: Path, *, allow_external_backbone: bool = False, engine: str = "torch"):
    """The checkpoint as a :class:`MultiExitModel`; with ``engine="onnx"`` the ``epee export`` directory
    ``checkpoint`` run by ONNX Runtime (``OnnxModel``), whose config carries the checkpoint's data recipe."""
    if engine == "onnx":
        from epee.runtime.onnx_engine import OnnxModel

        return OnnxModel.load(checkpoint)
    if (Path(checkpoint) / MANIFEST_NAME).is_file():
        raise EpeeError(
            f"{checkpoint} is an ONNX export, not a PyTorch checkpoint; give the checkpoint it was exported from "
            "(calibrate, predict and serve take an export with --engine onnx)."
        )
    return MultiExitModel.from_pretrained(checkpoint, allow_external_backbone=allow_external_backbone)


def load_checkpoint_and_data(
    checkpoint: Path, overrides: Mapping[str, Any], *, allow_external_backbone: bool = False, engine: str = "torch"
) -> tuple[MultiExitModel, Dataset]:
    """The model (see :func:`load_model`), and its data with labels in the model's order so label ids match the
    heads."""
    model = load_model(checkpoint, allow_external_backbone=allow_external_backbone, engine=engine)
    recorded, recipe = recipe_for(model, overrides)
    dataset = with_label_order(recipe.load(), model.config.label_names)
    if recorded is not None:
        check_dev_is_unseen(recorded, dataset, recipe)
    return model, dataset
