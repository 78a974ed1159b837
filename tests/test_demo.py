"""The demo path end to end on a tiny random model and a few hand-made rows: every report file is
written and every number in the results table is finite."""

import json
import math

from rich.console import Console

from epee.cli.results import present_results
from epee.data import Dataset, Example
from epee.policies import DEPLOYABLE_POLICIES
from epee.workflow.demo import DemoSettings, run_demo
from tests.helpers import tiny_bert_model

WORDS = {"good": "positive", "bad": "negative", "okay": "neutral"}


def _rows(count: int, offset: int) -> list[Example]:
    names = list(WORDS)
    return [
        Example(text=f"the drug was {names[(i + offset) % 3]} number {i}", labels=(WORDS[names[(i + offset) % 3]],))
        for i in range(count)
    ]


def test_demo_path_writes_a_complete_report(tmp_path):
    dataset = Dataset(
        name="tiny-reviews",
        task="single_label",
        label_names=["negative", "neutral", "positive"],
        train=_rows(24, 0),
        dev=_rows(9, 1),
        test=_rows(9, 2),
        metric="macro_f1",
    )
    model = tiny_bert_model(labels=dataset.label_names)
    # One epoch does not teach a random model: its exits are degenerate, which the report must say.
    settings = DemoSettings(
        epochs=1, batch_size=8, time_budget_minutes=None, eval_batch_size=4, wallclock_repeats=1, allow_degenerate=True
    )
    outcome = run_demo(tmp_path, settings, model=model, dataset=dataset)
    report = present_results(
        outcome.model, dataset, outcome.dev, outcome.test, 1.0, tmp_path / "report", "tiny", Console(record=True)
    )

    assert (tmp_path / "checkpoint" / "epee_config.json").is_file()
    for name in (
        "report.md",
        "report.html",
        "report.json",
        "metric_vs_speedup.png",
        "per_exit_metric.png",
        "exit_layers.png",
    ):
        assert (report / name).stat().st_size > 0, name
    markdown = (report / "report.md").read_text()
    for column in ("policy", "test", "layer speed-up", "FLOPs", "wall", "degenerate", "majority class"):
        assert column.lower() in markdown.lower(), column
    assert all(outcome.dev.calibration.per_exit_degenerate), "an untrained model's exits should all be degenerate"
    assert {evaluation.policy for evaluation in outcome.test.evaluations} == set(DEPLOYABLE_POLICIES)
    for evaluation in outcome.test.evaluations:
        for value in (
            evaluation.test_metric,
            evaluation.layer_speedup,
            evaluation.flops_speedup,
            evaluation.wallclock_speedup,
            evaluation.dev_metric,
        ):
            assert value is not None and math.isfinite(value), evaluation
    saved = json.loads((report / "report.json").read_text())
    assert len(saved["evaluations"]) == len(DEPLOYABLE_POLICIES)


def test_demo_and_report_show_the_certificate_of_the_risk_rule(tmp_path):
    from epee.calibrate.risk import RiskSettings

    dataset = Dataset(
        name="tiny-reviews",
        task="single_label",
        label_names=["negative", "neutral", "positive"],
        train=_rows(24, 0),
        dev=_rows(40, 1),
        test=_rows(30, 2),
        metric="macro_f1",
    )
    settings = DemoSettings(
        epochs=1,
        batch_size=8,
        time_budget_minutes=None,
        eval_batch_size=8,
        wallclock_repeats=1,
        risk=RiskSettings("consistency", epsilon=0.2, delta=0.2),
    )
    outcome = run_demo(tmp_path, settings, model=tiny_bert_model(labels=dataset.label_names), dataset=dataset)
    console = Console(record=True, width=200)
    report = present_results(outcome.model, dataset, outcome.dev, outcome.test, 20.0, tmp_path / "report", "t", console)

    certificate = outcome.dev.certificate
    assert certificate is not None and (certificate.num_ordering, certificate.num_samples) == (10, 30)
    statement = certificate.statement()
    assert statement in " ".join(console.export_text().split())
    saved = json.loads((report / "report.json").read_text())
    assert saved["certificate"] == certificate.to_dict()
    assert saved["facts"]["guarantee"].startswith(statement)
    assert statement in (report / "report.md").read_text()
    assert [evaluation.policy for evaluation in outcome.test.evaluations] == [certificate.policy]
    stored = json.loads((tmp_path / "checkpoint" / "policy.json").read_text())["calibration"]
    assert stored["rule"] == "risk" and stored["certificate"] == certificate.to_dict()
