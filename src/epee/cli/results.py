"""What `epee demo` and `epee report` show: tables on the terminal, and the report directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from epee.cli.tables import per_exit_table, policy_table, skipped_text
from epee.data import Dataset
from epee.models import MultiExitModel
from epee.report import write_report
from epee.table import to_rich
from epee.tasks.metrics import metric_title
from epee.workflow.assessment import DevCalibration, TestAssessment


def present_results(
    model: MultiExitModel,
    dataset: Dataset,
    dev: DevCalibration,
    test: TestAssessment,
    epsilon: float,
    directory: Path,
    title: str,
    console: Console,
) -> Path:
    """Print the per-exit and per-policy tables and the explanation; write the report directory."""
    last_exit = test.per_exit_test_metric[-1]
    calibration = dev.calibration
    majority = ("majority",) if calibration.majority_metric is not None else ()
    per_exit = per_exit_table(
        f"{metric_title(dataset)} per exit",
        [*model.exit_layers, *majority],
        {
            "dev": [*calibration.per_exit_metric, calibration.majority_metric],
            "test": [*test.per_exit_test_metric, test.majority_test_metric],
        },
        degenerate=_by_split(calibration.per_exit_degenerate, test.per_exit_test_degenerate),
    )
    console.print(to_rich(per_exit))
    if dev.skipped is not None:
        console.print(skipped_text(dev.skipped))
    title_of_policies = (
        f"Test {metric_title(dataset)}: each policy at its fastest dev setting within {epsilon:g} point(s)"
    )
    facts = dict(test.facts)
    if dev.certificate is not None:
        title_of_policies = f"Test {metric_title(dataset)}: the setting certified on dev"
        facts["guarantee"] = guarantee_text(dev.certificate, test, model.config.multi_label)
        console.print(facts["guarantee"])
    oracle_speedup = dev.calibration.oracle.layer_speedup
    console.print(to_rich(policy_table(title_of_policies, test.evaluations, last_exit, oracle_speedup)))
    explanation = explanation_text(dataset, dev, test, epsilon)
    written = write_report(
        directory,
        title=title,
        calibration=dev.calibration,
        selections=dev.selections,
        evaluations=test.evaluations,
        per_exit_test_metric=test.per_exit_test_metric,
        exit_layer_numbers=model.exit_layers,
        num_layers=model.num_layers,
        metric_name=metric_title(dataset),
        facts=facts,
        explanation=explanation,
        per_exit_test_degenerate=test.per_exit_test_degenerate,
        majority_test_metric=test.majority_test_metric,
        certificate=None if dev.certificate is None else dev.certificate.to_dict(),
    )
    console.print(explanation)
    console.print(f"Report: {written / 'report.html'}")
    return written


def guarantee_text(certificate, test: TestAssessment, multi_label: bool) -> str:
    """The certificate in plain words, and how the bounded risk turned out on test."""
    from epee.workflow.risk_calibration import realised_risk

    statement = certificate.statement()
    if not certificate.certified:
        return statement
    realised = realised_risk(
        certificate.policy,
        certificate.params,
        certificate.risk,
        test.logits,
        test.labels.numpy(),
        multi_label=multi_label,
        per_label=certificate.per_label,
    )
    return f"{statement} On the {test.logits.shape[1]} test examples it was {100 * realised:.2f}%."


def _by_split(on_dev: Sequence[str | None], on_test: Sequence[str | None]) -> list[str | None]:
    """Each exit's degeneracy reasons as ``dev: ...; test: ...``, None where it is degenerate on neither split."""
    exits = max(len(on_dev), len(on_test))
    on_dev, on_test = list(on_dev) or [None] * exits, list(on_test) or [None] * exits
    pairs = zip(on_dev, on_test, strict=True)
    return ["; ".join(f"{split}: {why}" for split, why in (("dev", d), ("test", t)) if why) or None for d, t in pairs]


def explanation_text(dataset, dev, test, epsilon: float) -> str:
    """A short, honest reading of the numbers."""
    chosen = next(e for e in test.evaluations if e.policy == dev.selected.policy)
    busy = f" ({chosen.wallclock_flag}: the figure is not trustworthy)" if chosen.wallclock_flag else ""
    if chosen.wallclock_speedup is None:
        clock = "was not timed (--no-timing)"
    else:
        clock = f"measures {chosen.wallclock_speedup:.2f}x on the clock{busy}"
    return (
        f"Each policy's thresholds were chosen on the dev split (its fastest setting losing at most {epsilon:g} "
        f"point(s) of {metric_title(dataset)} against the last exit) and then applied once to the test split. Layer "
        f"speed-up is L / mean exit layer; FLOPs speed-up also counts every exit head evaluated; wall-clock speed-up "
        f"is measured against the plain Hugging Face model (AutoModel + the last exit head) on the same batches. "
        f"The policy selected on dev, {chosen.policy}, runs {chosen.layer_speedup:.2f}x fewer layers on test at "
        f"{100 * (chosen.test_metric - test.per_exit_test_metric[-1]):+.2f} points against the last exit, and "
        f"{clock}. The oracle, the earliest exit that already "
        f"agrees with the last one, reaches {dev.calibration.oracle.layer_speedup:.2f}x on dev without changing any "
        f"prediction; a policy can go beyond it only by changing predictions, for better where shallow exits beat "
        f"the last one. Small dev splits make thresholds noisy: test figures can move by a few points."
    )
