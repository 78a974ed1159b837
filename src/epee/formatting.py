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
