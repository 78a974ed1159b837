"""Calibrate a trained model on dev, then measure every policy's choice on test: what the demo and
``epee report`` both show.

Dev picks the thresholds, test only reports them: the two splits are never mixed.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from epee.calibrate.model_calibration import calibrate_model, model_flops, store_selection
from epee.calibrate.results import CalibrationResult, PolicyPoint
from epee.calibrate.risk import RiskCertificate, RiskSettings
from epee.calibrate.select import without_degenerate
from epee.data import Dataset
from epee.errors import EpeeError
from epee.formatting import format_params
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for
from epee.policies import DEPLOYABLE_POLICIES
from epee.runtime.exit_logits import collect_exit_logits, per_exit_metric, predictions_from_logits
from epee.tasks.degeneracy import DegeneracyCheck
from epee.tasks.metrics import metric_for
from epee.workflow.policy_comparison import PolicyEvaluation, evaluate_on_test, measure_wallclock
from epee.workflow.risk_calibration import certified_point, certify

logger = logging.getLogger(__name__)


@dataclass
class DevCalibration:
    calibration: CalibrationResult
    selected: PolicyPoint  # the overall choice, stored in the model
    selections: dict[str, PolicyPoint]  # each policy's own choice under the same rule
    skipped: PolicyPoint | None = None  # the degenerate point the rule would have picked, had it been allowed
    certificate: RiskCertificate | None = None  # under the risk rule: what was certified, or that nothing was


@dataclass
class TestAssessment:
    evaluations: list[PolicyEvaluation]
    per_exit_test_metric: list[float]
    facts: dict[str, str]
    logits: torch.Tensor  # every exit on test, [exits, examples, labels], for further figures (oracle, AUC)
    labels: torch.Tensor
    per_exit_test_degenerate: tuple[str | None, ...] = ()  # why each exit is degenerate on test, else None
    majority_test_metric: float | None = None  # the metric of predicting the majority class for every test example


def select_per_policy(
    result: CalibrationResult, rule: str, value: float | None, *, allow_degenerate: bool = False
) -> dict[str, PolicyPoint]:
    """Each policy's own choice under ``rule``, or its most accurate point when none qualifies.

    Degenerate points are left out unless ``allow_degenerate`` or a policy has nothing else (its row
    is then marked degenerate wherever it is shown, and the overall choice never takes it).
    """
    selections = {}
    for policy in result.policies:
        points = result.points_of(policy)
        if not allow_degenerate:
            points = without_degenerate(points) or points
        try:
            selections[policy] = replace(result, points=tuple(points)).select(rule, value, allow_degenerate=True)
        except ValueError:
            selections[policy] = max(points, key=lambda point: (point.metric, point.layer_speedup))
    return selections


def calibrate_on_dev(
    model: MultiExitModel,
    dataset: Dataset,
    *,
    rule: str = "fastest_within",
    value: float | None = 0.01,
    policies: Sequence[str] = DEPLOYABLE_POLICIES,
    batch_size: int = 32,
    allow_degenerate: bool = False,
    risk: RiskSettings | None = None,
) -> DevCalibration:
    """Simulate ``policies`` on dev; store the point ``rule`` selects (e.g. fastest within 1 point) in the model.

    Degenerate settings (:mod:`epee.tasks.degeneracy`) are never selected unless ``allow_degenerate``;
    when that removes the point the rule would have picked, a warning says so and ``skipped`` holds it.
    The ``risk`` rule (with ``risk`` settings; ``value`` is ignored) stores the setting Learn-then-Test
    certifies (:mod:`epee.calibrate.risk`), or full depth when none is; degeneracy does not apply, the
    certificate bounds the answers that differ from the full model's.
    """
    if not dataset.dev:
        raise EpeeError(f"Dataset {dataset.name!r} has no dev split to calibrate on; a test split is never used.")
    featurizer = featurizer_for(model)
    dev_split = encode_split(featurizer, dataset.dev, model)
    metric = metric_for(dataset, "dev")
    calibration, logits = calibrate_model(
        model, featurizer, dev_split, metric, metric_name=dataset.metric, policies=policies, batch_size=batch_size
    )
    if rule == "risk":
        return _certify_on_dev(
            model, calibration, logits, dev_split.labels.numpy(), metric, risk or RiskSettings(), policies
        )
    selected = calibration.select(rule, value, allow_degenerate=allow_degenerate)
    skipped = None if allow_degenerate else calibration.skipped_as_degenerate(rule, value)
    if skipped is not None:
        logger.warning(
            "Skipped %s (%s) at %.2fx, the fastest candidate of the %s rule: it is degenerate on dev (%s). "
            "Pass --allow-degenerate to select it anyway.",
            skipped.policy,
            format_params(skipped.params),
            skipped.layer_speedup,
            rule,
            skipped.degenerate,
        )
    store_selection(
        model, calibration, selected, rule=rule, value=value, split="dev", allow_degenerate=allow_degenerate
    )
    selections = select_per_policy(calibration, rule, value, allow_degenerate=allow_degenerate)
    return DevCalibration(calibration, selected, selections, skipped)


def _certify_on_dev(model, calibration, logits, labels, metric, settings, policies) -> DevCalibration:
    control = certify(model, logits, labels, settings, policies)
    selected = certified_point(model, control, logits, labels, metric, calibration)
    store_selection(model, calibration, selected, rule="risk", value=settings.epsilon, split="dev", control=control)
    return DevCalibration(calibration, selected, {selected.policy: selected}, certificate=control.certificate)


def assess_on_test(
    model: MultiExitModel,
    dataset: Dataset,
    selections: dict[str, PolicyPoint],
    *,
    batch_size: int = 32,
    wallclock_repeats: int = 5,
    wallclock_rows: int | None = None,
    seed: int = 0,
    timing: bool = True,
) -> TestAssessment:
    """Apply each dev choice to test; time each against the plain model. Merges any PEFT adapter first.

    ``wallclock_rows`` times a seeded sample of the test split instead of all of it (metrics always use all);
    without ``timing`` no wall clock is measured (minutes saved on a large test split; the figures stay empty).
    """
    if not dataset.test:
        raise EpeeError(f"Dataset {dataset.name!r} has no test split to report on.")
    peft = model.config.peft
    adaptation = (
        "full fine-tuning" if peft is None else f"{peft['method']} r={peft.get('r')}, alpha={peft.get('alpha')}"
    )
    model.merge_peft()  # inference runs the plain transformers modules, as fast as the plain model
    featurizer = featurizer_for(model)
    test_split = encode_split(featurizer, dataset.test, model)
    metric = metric_for(dataset, "test")
    test_logits = collect_exit_logits(model, featurizer, test_split, batch_size=batch_size, description="test logits")
    layer_flops, head_flops = model_flops(model, float(test_split.lengths.mean()))
    evaluations = evaluate_on_test(
        model, test_logits, test_split.labels, metric, selections, layer_flops=layer_flops, head_flops=head_flops
    )
    facts = {
        "model": f"{model.config.backbone} ({model.num_layers} layers, {model.config.model_type}), {adaptation}",
        "dataset": f"{dataset.name}: train {len(dataset.train)}, dev {len(dataset.dev or [])}, "
        f"test {len(dataset.test)}",
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "wall clock": "not measured (--no-timing)",
    }
    if timing:
        timed = test_split
        if wallclock_rows is not None and wallclock_rows < len(test_split):
            rows = np.random.default_rng(seed).choice(len(test_split), wallclock_rows, replace=False)
            timed = test_split.subset(rows)
        logger.info("Timing every policy against the plain Hugging Face model on %d test rows ...", len(timed))
        measure_wallclock(model, featurizer, timed, evaluations, batch_size=batch_size, repeats=wallclock_repeats)
        facts["wall clock"] = (
            f"batch {batch_size}, median ratio of {wallclock_repeats} interleaved rounds (paths in random order "
            f"each round) over {len(timed)} test rows"
        )
    per_exit_test = per_exit_metric(test_logits, test_split.labels, metric, model.config.multi_label)
    check = DegeneracyCheck.for_labels(test_split.labels.numpy(), metric)
    per_exit_predictions = predictions_from_logits(test_logits, model.config.multi_label)
    degenerate = tuple(check.reason(*pair) for pair in zip(per_exit_predictions, per_exit_test, strict=True))
    return TestAssessment(evaluations, per_exit_test, facts, test_logits, test_split.labels, degenerate, check.baseline)
