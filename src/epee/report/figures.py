"""The report's three figures, built as bare ``Figure`` objects on the Agg canvas.

``matplotlib.pyplot`` is never imported: it would pick a backend and keep global figure state in the
caller's process (a notebook, a server). Each builder returns a ``Figure`` that tests can inspect
and :func:`save_png` writes. Metrics are drawn in points (x100), like the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from epee.calibrate.results import CalibrationResult, PolicyPoint

if TYPE_CHECKING:
    from epee.workflow.policy_comparison import PolicyEvaluation

DPI = 120


def policy_colors(names: Iterable[str]) -> dict[str, tuple[float, ...]]:
    """One stable colour per policy name, so a policy looks the same in every figure."""
    palette = colormaps["tab10"]
    unique = list(dict.fromkeys(names))
    return {name: palette(index % palette.N) for index, name in enumerate(unique)}


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def metric_vs_speedup_figure(
    calibration: CalibrationResult,
    selections: Mapping[str, PolicyPoint],
    *,
    metric_name: str,
    colors: Mapping[str, tuple[float, ...]],
) -> Figure:
    """The calibration trade-off on dev: every point faint, each policy's Pareto frontier, the selections.

    The last exit's metric is the horizontal reference the selection rules compare against; the
    oracle shows how much speed-up exists without changing any prediction.
    """
    figure = _new_figure(9.0, 5.6)
    axes = figure.add_subplot()
    for policy in calibration.policies:
        points = calibration.points_of(policy)
        axes.scatter(
            [point.layer_speedup for point in points],
            [100 * point.metric for point in points],
            s=18,
            color=colors[policy],
            alpha=0.35,
            linewidths=0,
        )
        frontier = sorted(calibration.frontier(policy), key=lambda point: point.layer_speedup)
        axes.plot(
            [point.layer_speedup for point in frontier],
            [100 * point.metric for point in frontier],
            marker="o",
            markersize=3.5,
            linewidth=1.6,
            color=colors[policy],
            label=f"{policy} frontier",
        )
    for name, point in selections.items():
        axes.scatter(
            [point.layer_speedup],
            [100 * point.metric],
            s=190,
            marker="*",
            color=colors.get(name, colors.get(point.policy, "black")),
            edgecolors="black",
            linewidths=0.9,
            zorder=5,
        )
    axes.axhline(
        100 * calibration.last_exit_metric,
        color="0.35",
        linestyle="--",
        linewidth=1.1,
        label=f"last exit ({100 * calibration.last_exit_metric:.2f})",
    )
    oracle = calibration.oracle
    axes.scatter(
        [oracle.layer_speedup],
        [100 * oracle.metric],
        s=70,
        marker="D",
        facecolors="white",
        edgecolors="black",
        linewidths=1.4,
        zorder=6,
        label=f"oracle bound ({oracle.layer_speedup:.2f}x)",
    )
    # Stars and faint points take each policy's colour; their legend entries are neutral proxies.
    handles, labels = axes.get_legend_handles_labels()
    handles += [
        Line2D([], [], linestyle="", marker="*", markersize=13, markerfacecolor="white", markeredgecolor="black"),
        Line2D([], [], linestyle="", marker="o", markersize=4, color="0.6", alpha=0.6),
    ]
    labels += ["selected point (dev)", "all calibration points"]
    axes.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False)
    axes.set_xlabel("layer speed-up (L / mean exit layer)")
    axes.set_ylabel(f"dev {metric_name} (points)")
    axes.set_title(f"{metric_name} vs layer speed-up on the calibration (dev) split")
    axes.grid(alpha=0.3)
    return figure


def per_exit_metric_figure(
    exit_layer_numbers: Sequence[int],
    per_exit_dev_metric: Sequence[float],
    per_exit_test_metric: Sequence[float] | None,
    *,
    metric_name: str,
) -> Figure:
    """The metric of each exit when every sample uses it: a later exit scoring lower is overthinking.

    Shallow exits that sit at the majority-class floor make every confidence-based speed-up suspect
    (DESIGN.md, "A trap measured on our own data"), so this curve belongs next to the trade-off.
    """
    figure = _new_figure(9.0, 4.2)
    axes = figure.add_subplot()
    axes.plot(exit_layer_numbers, [100 * metric for metric in per_exit_dev_metric], marker="o", label="dev")
    if per_exit_test_metric is not None:
        axes.plot(exit_layer_numbers, [100 * metric for metric in per_exit_test_metric], marker="s", label="test")
    axes.set_xticks(list(exit_layer_numbers))
    axes.set_xlabel("exit layer")
    axes.set_ylabel(f"{metric_name} (points)")
    axes.set_title(f"{metric_name} of each exit (all samples at that exit)")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=9)
    return figure


def exit_layers_figure(
    evaluations: Sequence[PolicyEvaluation],
    *,
    num_layers: int,
    colors: Mapping[str, tuple[float, ...]],
) -> Figure:
    """Grouped bars: the share of test examples leaving at each layer, per policy.

    Shares rather than counts keep policies comparable and show at a glance when a policy sends
    nearly everyone to one layer (the patience collapse) or almost no one early.
    """
    figure = _new_figure(9.0, 4.4)
    axes = figure.add_subplot()
    layers = np.arange(1, num_layers + 1)
    bar_width = 0.8 / max(len(evaluations), 1)
    for position, evaluation in enumerate(evaluations):
        counts = np.bincount(np.asarray(evaluation.exit_layers, dtype=np.int64), minlength=num_layers + 1)[1:]
        shares = 100 * counts / max(counts.sum(), 1)
        offset = (position - (len(evaluations) - 1) / 2) * bar_width
        axes.bar(
            layers + offset,
            shares,
            width=bar_width,
            color=colors.get(evaluation.policy, "0.5"),
            label=f"{evaluation.policy} ({evaluation.layer_speedup:.2f}x)",
        )
    axes.set_xticks(layers)
    axes.set_xlim(0.4, num_layers + 0.6)
    axes.set_xlabel("exit layer")
    axes.set_ylabel("test examples (%)")
    axes.set_title("Where test examples exit, per policy (layer speed-up in brackets)")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False)
    return figure


def save_png(figure: Figure, path: Path) -> None:
    """Write ``figure`` as a PNG through its Agg canvas."""
    figure.savefig(path, format="png", dpi=DPI)
