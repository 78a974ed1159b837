"""The figure builders return bare Figures with titled axes and legends naming every policy."""

from __future__ import annotations

from matplotlib.figure import Figure

from epee.report.figures import exit_layers_figure, metric_vs_speedup_figure, per_exit_metric_figure, policy_colors
from tests.report.sample_report import (
    CALIBRATION,
    EVALUATIONS,
    EXIT_LAYERS,
    NUM_LAYERS,
    PER_EXIT_TEST_METRIC,
    SELECTIONS,
)

COLORS = policy_colors(CALIBRATION.policies)


def legend_texts(figure: Figure) -> list[str]:
    (axes,) = figure.axes
    assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()
    legend = axes.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


def test_metric_vs_speedup_names_policies_selection_reference_and_oracle() -> None:
    figure = metric_vs_speedup_figure(CALIBRATION, SELECTIONS, metric_name="accuracy", colors=COLORS)
    texts = legend_texts(figure)
    for policy in CALIBRATION.policies:
        assert f"{policy} frontier" in texts
    assert "selected point (dev)" in texts
    assert "last exit (80.00)" in texts
    assert any(text.startswith("oracle bound") for text in texts)


def test_per_exit_metric_shows_dev_and_test() -> None:
    figure = per_exit_metric_figure(EXIT_LAYERS, CALIBRATION.per_exit_metric, PER_EXIT_TEST_METRIC, metric_name="acc")
    assert legend_texts(figure) == ["dev", "test"]
    (axes,) = figure.axes
    assert [line.get_ydata()[-1] for line in axes.get_lines()] == [80.0, 81.0]


def test_per_exit_metric_without_test() -> None:
    figure = per_exit_metric_figure(EXIT_LAYERS, CALIBRATION.per_exit_metric, None, metric_name="acc")
    assert legend_texts(figure) == ["dev"]


def test_exit_layers_has_one_bar_group_per_policy_over_all_layers() -> None:
    figure = exit_layers_figure(EVALUATIONS, num_layers=NUM_LAYERS, colors=COLORS)
    texts = legend_texts(figure)
    assert [text.split(" ")[0] for text in texts] == [evaluation.policy for evaluation in EVALUATIONS]
    (axes,) = figure.axes
    assert len(axes.patches) == NUM_LAYERS * len(EVALUATIONS)
    assert list(axes.get_xticks()) == list(range(1, NUM_LAYERS + 1))
    shares = [patch.get_height() for patch in axes.patches[:NUM_LAYERS]]
    assert abs(sum(shares) - 100.0) < 1e-9
