"""Calibrating a trained model: cache all-exit logits on a validation split once, then sweep policies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from epee.calibrate.results import CalibrationResult, PolicyPoint
from epee.calibrate.risk import RiskControl
from epee.calibrate.sweep import calibrate
from epee.models import MultiExitModel
from epee.policies import DEPLOYABLE_POLICIES, make_policy, policy_params
from epee.runtime.exit_logits import collect_exit_logits
from epee.runtime.speed import exit_head_flops, flop_shape, transformer_layer_flops
from epee.tasks.encoding import EncodedSplit
from epee.tasks.metrics import Metric


def model_flops(model: MultiExitModel, mean_sequence_length: float) -> tuple[float, float]:
    """(FLOPs of one backbone layer, FLOPs of one exit head) per sequence of the mean length.

    ``model`` may also be an ONNX export (``OnnxModel``), which carries the shape its manifest recorded.
    """
    shape = flop_shape(model) if isinstance(model, MultiExitModel) else model.flop_shape
    layer = transformer_layer_flops(shape.hidden_size, shape.intermediate_size, round(mean_sequence_length))
    head = exit_head_flops(shape.hidden_size, model.config.num_labels, pooler=shape.pooler)
    return float(layer), float(head)


def calibrate_model(
    model: MultiExitModel,
    featurizer,
    split: EncodedSplit,
    metric: Metric,
    *,
    metric_name: str,
    policies: Sequence[str] = DEPLOYABLE_POLICIES,
    batch_size: int = 64,
) -> tuple[CalibrationResult, Any]:
    """Run ``model`` once with every exit on ``split`` and simulate every policy's grid.

    ``model`` is a PyTorch model or an ONNX export (``OnnxModel``): calibrated on the exits it computes.

    Returns the result and the cached logits ``[exits, examples, labels]`` (reports reuse them).
    """
    logits = collect_exit_logits(model, featurizer, split, batch_size=batch_size, description="all-exit logits")
    layer_flops, head_flops = model_flops(model, float(split.lengths.mean()))
    result = calibrate(
        logits,
        split.labels,
        exit_layer_numbers=model.exit_layers,
        num_layers=model.num_layers,
        multi_label=model.config.multi_label,
        metric=metric,
        metric_name=metric_name,
        policies=policies,
        layer_flops=layer_flops,
        head_flops=head_flops,
    )
    return result, logits


def store_selection(
    model: MultiExitModel,
    result: CalibrationResult,
    point: PolicyPoint,
    *,
    rule: str,
    value: float | None,
    split: str,
    allow_degenerate: bool = False,
    control: RiskControl | None = None,
) -> None:
    """Make ``point`` the model's default policy and keep the calibration figures in its config.

    Under the risk rule, ``control`` holds the certificate and the tested candidates, stored beside them.
    """
    model.config.policy = policy_params(point.make_policy())
    model.config.calibration = {
        "split": split,
        "rule": rule,
        "value": value,
        "allow_degenerate": allow_degenerate,
        "selected": point.to_dict(),
        "result": result.to_dict(),
        **(_certificate_record(control) if control is not None else {}),
        **_engine_record(model),
    }


def store_certificate(model: MultiExitModel, control: RiskControl, *, split: str) -> None:
    """Make the certified setting the model's default policy, without labels: the certificate is the whole record."""
    model.config.policy = policy_params(make_policy(control.policy, **control.params))
    certificate = control.certificate
    model.config.calibration = {"split": split, "rule": "risk", "value": certificate.epsilon}
    model.config.calibration.update(_certificate_record(control))
    model.config.calibration.update(_engine_record(model))


def _engine_record(model: MultiExitModel) -> dict[str, Any]:
    """Where the exits were computed when not in PyTorch: an ONNX export's own graphs (say, int8)."""
    return {} if isinstance(model, MultiExitModel) else {"engine": model.description}


def _certificate_record(control: RiskControl) -> dict[str, Any]:
    return {"certificate": control.certificate.to_dict(), "tested": list(control.tested)}
