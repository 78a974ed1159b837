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
from epee.models import MultiExitModel


def recipe_for(model: MultiExitModel, overrides: Mapping[str, Any]) -> tuple[DataRecipe | None, DataRecipe]:
    """(the recorded recipe or ``None`` for checkpoints that predate it, the recipe to use now)."""
    recorded = DataRecipe.from_dict(model.config.data_recipe) if model.config.data_recipe else None
    return recorded, (recorded or DataRecipe()).with_overrides(overrides)


def load_checkpoint_and_data(
    checkpoint: Path, overrides: Mapping[str, Any], *, allow_external_backbone: bool = False
) -> tuple[MultiExitModel, Dataset]:
    """The model, and its data with labels in the model's order so label ids match the heads."""
    model = MultiExitModel.from_pretrained(checkpoint, allow_external_backbone=allow_external_backbone)
    recorded, recipe = recipe_for(model, overrides)
    dataset = with_label_order(recipe.load(), model.config.label_names)
    if recorded is not None:
        check_dev_is_unseen(recorded, dataset, recipe)
    return model, dataset
