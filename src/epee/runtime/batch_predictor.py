"""``BatchPredictor``: a checkpoint loaded once, then called on batches: the shape distributed engines expect.

Ray Data's ``map_batches(BatchPredictor, fn_constructor_kwargs=..., concurrency=N)`` builds one per actor
and calls it with a dict of NumPy arrays or a pandas DataFrame; Spark's ``predict_batch_udf`` wants a
function of column arrays, which ``BatchPredictor(...).predict_columns`` is. Either way the batch comes back
with the same rows and four more columns: ``label`` (a list of names for multi-label models), ``score``
(the probability of the label; for multi-label the highest one), ``probabilities`` ([rows, labels]) and
``exit_layer`` (1-based). Rows keep their order: :func:`epee.runtime.predict` sorts by length and restores it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from epee.data.tabular import columns_text
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.policies import ExitPolicy
from epee.runtime.predict import predict, resolve_policy

OUTPUT_COLUMNS = ("label", "score", "probabilities", "exit_layer")


class BatchPredictor:
    """Early-exit predictions for batches of rows, from a checkpoint directory loaded once."""

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        policy: ExitPolicy | None = None,
        text_column: str = "text",
        text_pair_column: str | None = None,
        batch_size: int = 32,
        allow_external_backbone: bool = False,
        threads: int | None = 1,
    ):
        """``policy`` defaults to the checkpoint's calibrated one; ``batch_size`` is the model's batch inside a
        call (rows sorted by length); ``threads`` caps torch's threads, one per worker by default, since an
        engine runs one predictor per core."""
        if threads is not None:
            torch.set_num_threads(threads)
        self.model = MultiExitModel.from_pretrained(checkpoint, allow_external_backbone=allow_external_backbone)
        self.model.merge_peft()
        self.policy = resolve_policy(self.model, policy)
        self.text_column, self.text_pair_column, self.batch_size = text_column, text_pair_column, batch_size

    @property
    def label_names(self) -> list[str]:
        return list(self.model.config.label_names)

    def __call__(self, batch: Any) -> Any:
        """A dict of arrays (or lists) or a pandas DataFrame in; the same type out, with the output columns added."""
        columns = list(batch.columns) if hasattr(batch, "columns") else list(batch)
        for column in (self.text_column, self.text_pair_column):
            if column is not None and column not in columns:
                raise EpeeError(f"The batch has no column {column!r}; its columns are {columns_text(columns)}.")
        pairs = None if self.text_pair_column is None else batch[self.text_pair_column]
        outputs = self.predict_columns(batch[self.text_column], pairs)
        if hasattr(batch, "assign"):  # a pandas DataFrame
            outputs["probabilities"] = list(outputs["probabilities"])  # one array per row
            return batch.assign(**outputs)
        return {**batch, **outputs}

    def predict_columns(self, texts: Any, text_pairs: Any = None) -> dict[str, np.ndarray]:
        """The output columns for a column of texts (and of pairs; a null or empty pair means none)."""
        texts = _as_list(texts)
        pairs = None if text_pairs is None else [None if _missing(pair) else pair for pair in _as_list(text_pairs)]
        result = predict(self.model, texts, pairs, policy=self.policy, batch_size=self.batch_size)
        probabilities = result.probabilities.numpy().astype(np.float64)  # [rows, labels]
        labels = np.empty(len(texts), dtype=object)
        labels[:] = [list(label) for label in result.labels] if result.multi_label else result.labels
        if result.multi_label:
            score = probabilities.max(axis=1)
        else:
            score = probabilities[np.arange(len(texts)), result.logits.argmax(dim=-1).numpy()]
        return {
            "label": labels,
            "score": score,
            "probabilities": probabilities,
            "exit_layer": result.exit_layer.numpy(),
        }


def _as_list(column: Any) -> list:
    return column.tolist() if hasattr(column, "tolist") else list(column)


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))
