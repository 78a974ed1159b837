"""How numbers and parameters read in tables, shared by the terminal and the report (import-light)."""

from __future__ import annotations

from collections.abc import Mapping


def format_params(params: Mapping[str, object]) -> str:
    """Policy parameters as ``name=value``, unset ones left out, floats to 3 significant digits."""
    return ", ".join(f"{key}={_short(value)}" for key, value in params.items() if value is not None) or "-"


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_short(item) for item in value) + "]"
    return str(value)


SHORT_NAMES = {
    "threshold": "thr",
    "patience": "t",
    "normalized": "norm",
    "divergence": "div",
    "exit_layer": "exit",
    "accuracies": "acc",
    "weights": "w",
    "num_exits": "exits",
}


def format_params_short(params: Mapping[str, object]) -> str:
    """Parameters for an 80-column terminal: short names, ``norm`` for a true flag, lists by their length.

    The full form (:func:`format_params`) is in the report; this one keeps a table legible.
    """
    parts = []
    for key, value in params.items():
        name = SHORT_NAMES.get(key, key)
        if value is None:
            continue
        if isinstance(value, bool):
            parts.append(name if value else f"{name}=no")
        elif isinstance(value, list | tuple):
            parts.append(f"{name}=[{len(value)}]")
        else:
            parts.append(f"{name}={_short(value)}")
    return " ".join(parts) or "-"


def wallclock_cell(speedup: float | None, flag: str | None) -> str:
    """A measured wall-clock speed-up, marked ``!`` when the machine was too busy for it to mean anything."""
    if speedup is None:
        return "-"
    return f"{speedup:.2f}x" + ("!" if flag else "")
