"""``--policy NAME --param KEY=VALUE``: an exit policy chosen on the command line."""

from __future__ import annotations

import json

from epee.errors import EpeeError
from epee.policies import ExitPolicy, make_policy


def policy_from_options(name: str | None, params: list[str] | None) -> ExitPolicy | None:
    """The named policy with its parameters, or ``None`` (the checkpoint's calibrated policy) when no name."""
    if name is None:
        if params:
            raise EpeeError("--param needs --policy NAME.")
        return None
    values = {}
    for item in params or []:
        key, separator, raw = item.partition("=")
        if not separator:
            raise EpeeError(f"--param must look like NAME=VALUE, got {item!r}.")
        try:
            values[key] = json.loads(raw)  # numbers, true/false, lists
        except json.JSONDecodeError:
            values[key] = raw  # a bare word such as a divergence name
    return make_policy(name, **values)
