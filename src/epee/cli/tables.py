"""Rich tables the commands print."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.table import Table

from epee.formatting import format_params, format_params_short, wallclock_cell

DEGENERATE = "[bold red]degenerate[/bold red]"
BUSY_NOTE = (
    "! machine too busy to time: the wall clock beats the layer speed-up by over 10% or its rounds spread "
    "over 25%; rerun on an idle machine."
)


def per_exit_table(
    title: str,
    exit_layers: Sequence[int | str],
    metrics_by_split: Mapping[str, Sequence[float]],
    degenerate: Sequence[str | None] | None = None,
) -> Table:
    """One row per exit layer (or a named baseline), one column per split or metric, in points (x100).

    ``degenerate[i]``, when given, says why exit ``i`` is degenerate (``None`` when it is not): a
    last column marks those exits and the caption gives the reasons (rows beyond it, such as a
    baseline, are left unmarked).
    """
    table = Table(title=title)
    table.add_column("exit layer", justify="right")
    for split in metrics_by_split:
        table.add_column(split, justify="right")
    reasons = list(degenerate or [])
    if degenerate is not None:
        table.add_column("degenerate")
    for position, layer in enumerate(exit_layers):
        cells = [f"{100 * values[position]:.1f}" for values in metrics_by_split.values()]
        if degenerate is not None:
            cells.append(DEGENERATE if position < len(reasons) and reasons[position] else "")
        table.add_row(str(layer), *cells)
    marked = [f"layer {layer}: {reason}" for layer, reason in zip(exit_layers, reasons, strict=False) if reason]
    if marked:
        table.caption = "Degenerate exits (never selected by calibration): " + "; ".join(marked) + "."
    return table


def frontier_table(result, selected=None) -> Table:
    """Every policy's Pareto frontier (metric vs layer speed-up) on the calibration split; fits 80 columns."""
    table = Table(
        title=f"Calibration frontier on {result.num_samples} samples ({result.metric_name}, points)",
        caption="layer / FLOPs: speed-ups; saved: share of layers skipped; * = selected.",
    )
    for column in ("policy", "parameters", "metric", "layer", "FLOPs", "saved"):
        table.add_column(column, justify="left" if column in ("policy", "parameters") else "right")
    for policy in result.policies:
        for point in sorted(result.frontier(policy), key=lambda p: p.layer_speedup):
            marker = " [bold green]*[/bold green]" if point == selected else ""
            marker += f" {DEGENERATE}" if point.degenerate else ""
            table.add_row(
                point.policy,
                format_params_short(point.params) + marker,
                f"{100 * point.metric:.2f}",
                f"{point.layer_speedup:.2f}x",
                "-" if point.flops_speedup is None else f"{point.flops_speedup:.2f}x",
                f"{100 * point.saved_fraction:.0f}%",
            )
        table.add_section()
    oracle = result.oracle
    table.add_row(
        "oracle",
        "bound",
        f"{100 * oracle.metric:.2f}",
        f"{oracle.layer_speedup:.2f}x",
        "-" if oracle.flops_speedup is None else f"{oracle.flops_speedup:.2f}x",
        f"{100 * oracle.saved_fraction:.0f}%",
    )
    return table


def policy_table(title: str, evaluations, last_exit_test_metric: float, oracle_speedup: float | None = None) -> Table:
    """The demo's one table: each policy's dev-chosen parameters applied to test; fits 80 columns.

    A wall clock the machine was too busy to measure is marked ``!`` and explained in the caption.
    """
    table = Table(title=title, caption="speed-ups: layer = L / mean exit layer; clock = measured vs plain model.")
    for column in ("policy", "parameters", "test", "vs last", "layer", "FLOPs", "clock"):
        table.add_column(column, justify="left" if column in ("policy", "parameters") else "right")
    table.add_row("last exit", "all layers", f"{100 * last_exit_test_metric:.2f}", "-", "1.00x", "1.00x", "-")
    table.add_section()
    for evaluation in sorted(evaluations, key=lambda e: -e.layer_speedup):
        table.add_row(
            evaluation.policy,
            format_params_short(evaluation.params) + (f" {DEGENERATE}" if evaluation.degenerate else ""),
            f"{100 * evaluation.test_metric:.2f}",
            f"{100 * (evaluation.test_metric - last_exit_test_metric):+.2f}",
            f"{evaluation.layer_speedup:.2f}x",
            f"{evaluation.flops_speedup:.2f}x",
            wallclock_cell(evaluation.wallclock_speedup, getattr(evaluation, "wallclock_flag", None)),
        )
    if oracle_speedup is not None:
        table.add_section()
        table.add_row("oracle", "bound", "-", "-", f"{oracle_speedup:.2f}x", "-", "-")
    if any(getattr(evaluation, "wallclock_flag", None) for evaluation in evaluations):
        table.caption += "\n" + BUSY_NOTE
    return table


def skipped_text(skipped) -> str:
    """The sentence that tells the user calibration passed over its fastest candidate, and why."""
    return (
        f"[yellow]Skipped the fastest candidate, {skipped.policy} ({format_params(skipped.params)}) at "
        f"{skipped.layer_speedup:.2f}x: it is degenerate on dev ({skipped.degenerate}). Pass --allow-degenerate "
        "to select it anyway.[/yellow]"
    )
