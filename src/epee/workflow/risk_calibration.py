"""The risk rule on a trained model: certify a setting on labelled dev or on unlabelled texts, and check it on test.

Labelled dev (:func:`certify_on_dev`): the usual calibration tables are built as well, and the
certified setting is measured like any other point. Unlabelled texts (:func:`certify_on_texts`): only
the text columns of the file are read, so the consistency risk is certified on notes nobody labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from epee.calibrate.results import CalibrationResult, PolicyPoint
from epee.calibrate.risk import RiskControl, RiskSettings, control_risk, example_risks
from epee.calibrate.sweep import calibrate
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.inputs import featurizer_for
from epee.policies import DEPLOYABLE_POLICIES, ExitTables, fast_exit_index, make_policy
from epee.runtime.exit_logits import collect_exit_logits, predictions_from_logits
from epee.runtime.table_io import input_chunks
from epee.tasks.encoding import EncodedSplit
from epee.tasks.metrics import Metric

CHUNK_ROWS = 10_000  # the file is read in chunks; calibration keeps every text (they are a few thousand at most)


def certify(
    model: MultiExitModel,
    logits: torch.Tensor,
    labels: np.ndarray | None,
    settings: RiskSettings,
    policies: Sequence[str] = DEPLOYABLE_POLICIES,
) -> RiskControl:
    """:func:`~epee.calibrate.risk.control_risk` on cached logits ``[exits, examples, labels]`` of ``model``."""
    return control_risk(
        logits,
        labels,
        exit_layer_numbers=model.exit_layers,
        num_layers=model.num_layers,
        multi_label=model.config.multi_label,
        risk=settings.risk,
        epsilon=settings.epsilon,
        delta=settings.delta,
        per_label=settings.per_label,
        policies=policies,
        seed=settings.seed,
    )


def certified_point(
    model: MultiExitModel,
    control: RiskControl,
    logits: torch.Tensor,
    labels: np.ndarray,
    metric: Metric,
    result: CalibrationResult,
) -> PolicyPoint:
    """The certified setting measured on the whole labelled sample, like every point of ``result``."""
    measured = calibrate(
        logits,
        labels,
        exit_layer_numbers=model.exit_layers,
        num_layers=model.num_layers,
        multi_label=model.config.multi_label,
        metric=metric,
        metric_name=result.metric_name,
        policies=(control.policy,),
        grids={control.policy: [control.params]},
    )
    return measured.points[0]


def read_calibration_texts(
    model: MultiExitModel,
    path: Path,
    *,
    text_column: str,
    text_pair_column: str | None = None,
    format: str | None = None,
    encoding: str = "utf-8",
) -> EncodedSplit:
    """The file's texts encoded for ``model``, with no labels: only the named text columns are read."""
    if model.family.modality == "image":
        raise EpeeError("Calibrating on a file of texts needs a text model; this checkpoint classifies images.")
    texts, pairs = [], []
    chunks = input_chunks(
        path,
        text_column=text_column,
        text_pair_column=text_pair_column,
        format=format,
        skip_bad_rows=False,
        chunk_rows=CHUNK_ROWS,
        encoding=encoding,
    )
    for chunk in chunks:
        texts += chunk.texts
        pairs += chunk.text_pairs or [None] * len(chunk.texts)
    featurizer = featurizer_for(model)
    features = featurizer.encode_texts(texts, pairs if text_pair_column else None)
    return EncodedSplit(features, None, featurizer.sequence_lengths(features))


def certify_on_texts(
    model: MultiExitModel,
    split: EncodedSplit,
    settings: RiskSettings,
    *,
    policies: Sequence[str] = DEPLOYABLE_POLICIES,
    batch_size: int = 32,
) -> RiskControl:
    """Certify the consistency risk on unlabelled inputs (the error_gap risk refuses: it needs labels)."""
    logits = collect_exit_logits(
        model, featurizer_for(model), split, batch_size=batch_size, description="all-exit logits"
    )
    return certify(model, logits, None, settings, policies)


def realised_risk(
    policy: str,
    params: dict,
    risk: str,
    logits: torch.Tensor,
    labels: np.ndarray | None,
    *,
    multi_label: bool,
    per_label: bool = False,
) -> float:
    """The mean ``risk`` of one setting on other data (e.g. test): what a certificate bounds, as it turned out."""
    chosen = fast_exit_index(make_policy(policy, **params), ExitTables(logits, multi_label)).cpu().numpy()
    predictions = predictions_from_logits(logits, multi_label)
    early = predictions[chosen, np.arange(logits.shape[1])]
    return float(example_risks(risk, early, predictions[-1], labels, per_label=per_label).mean())
