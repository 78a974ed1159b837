"""The tables the commands print, built as :class:`epee.table.Table` and shown with :func:`epee.table.to_rich`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from epee.formatting import format_params, format_params_short, wallclock_cell
from epee.table import Table

DEGENERATE = "degenerate"
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
    reasons = list(degenerate or [])
    headers = ("exit layer", *metrics_by_split) + (("degenerate",) if degenerate is not None else ())
    rows = []
    for position, layer in enumerate(exit_layers):
        cells = [f"{100 * values[position]:.1f}" for values in metrics_by_split.values()]
        if degenerate is not None:
            cells.append(DEGENERATE if position < len(reasons) and reasons[position] else "")
        rows.append((str(layer), *cells))
    marked = [f"layer {layer}: {reason}" for layer, reason in zip(exit_layers, reasons, strict=False) if reason]
    caption = "Degenerate exits (never selected by calibration): " + "; ".join(marked) + "." if marked else None
    return Table(headers=headers, rows=tuple(rows), title=title, caption=caption)


def _speed_cells(metric: float, layer_speedup: float, flops_speedup: float | None, saved: float) -> tuple[str, ...]:
    flops = "-" if flops_speedup is None else f"{flops_speedup:.2f}x"
    return f"{100 * metric:.2f}", f"{layer_speedup:.2f}x", flops, f"{100 * saved:.0f}%"


def frontier_table(result, selected=None) -> Table:
    """Every policy's Pareto frontier (metric vs layer speed-up) on the calibration split; fits 80 columns."""
    rows, section_starts = [], set()
    for policy in result.policies:
        for point in sorted(result.frontier(policy), key=lambda p: p.layer_speedup):
            marker = (" *" if point == selected else "") + (f" {DEGENERATE}" if point.degenerate else "")
            cells = _speed_cells(point.metric, point.layer_speedup, point.flops_speedup, point.saved_fraction)
            rows.append((point.policy, format_params_short(point.params) + marker, *cells))
        section_starts.add(len(rows))
    oracle = result.oracle
    oracle_cells = _speed_cells(oracle.metric, oracle.layer_speedup, oracle.flops_speedup, oracle.saved_fraction)
    rows.append(("oracle", "bound", *oracle_cells))
    return Table(
        headers=("policy", "parameters", "metric", "layer", "FLOPs", "saved"),
        rows=tuple(rows),
        numeric_from=2,
        title=f"Calibration frontier on {result.num_samples} samples ({result.metric_name}, points)",
        caption="layer / FLOPs: speed-ups; saved: share of layers skipped; * = selected.",
        section_starts=frozenset(section_starts),
    )


def policy_table(title: str, evaluations, last_exit_test_metric: float, oracle_speedup: float | None = None) -> Table:
    """The demo's one table: each policy's dev-chosen parameters applied to test; fits 80 columns.

    A wall clock the machine was too busy to measure is marked ``!`` and explained in the caption.
    """
    rows = [("last exit", "all layers", f"{100 * last_exit_test_metric:.2f}", "-", "1.00x", "1.00x", "-")]
    for evaluation in sorted(evaluations, key=lambda e: -e.layer_speedup):
        rows.append(
            (
                evaluation.policy,
                format_params_short(evaluation.params) + (f" {DEGENERATE}" if evaluation.degenerate else ""),
                f"{100 * evaluation.test_metric:.2f}",
                f"{100 * (evaluation.test_metric - last_exit_test_metric):+.2f}",
                f"{evaluation.layer_speedup:.2f}x",
                f"{evaluation.flops_speedup:.2f}x",
                wallclock_cell(evaluation.wallclock_speedup, getattr(evaluation, "wallclock_flag", None)),
            )
        )
    section_starts = {1}
    if oracle_speedup is not None:
        section_starts.add(len(rows))
        rows.append(("oracle", "bound", "-", "-", f"{oracle_speedup:.2f}x", "-", "-"))
    caption = "speed-ups: layer = L / mean exit layer; clock = measured vs plain model."
    if any(getattr(evaluation, "wallclock_flag", None) for evaluation in evaluations):
        caption += "\n" + BUSY_NOTE
    return Table(
        headers=("policy", "parameters", "test", "vs last", "layer", "FLOPs", "clock"),
        rows=tuple(rows),
        numeric_from=2,
        title=title,
        caption=caption,
        section_starts=frozenset(section_starts),
    )


def skipped_text(skipped) -> str:
    """The sentence that tells the user calibration passed over its fastest candidate, and why."""
    return (
        f"[yellow]Skipped the fastest candidate, {skipped.policy} ({format_params(skipped.params)}) at "
        f"{skipped.layer_speedup:.2f}x: it is degenerate on dev ({skipped.degenerate}). Pass --allow-degenerate "
        "to select it anyway.[/yellow]"
    )
