"""``--policy NAME --param KEY=VALUE``: an exit policy chosen on the command line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from epee.errors import EpeeError
from epee.policies import ExitPolicy, make_policy, policy_from_params

if TYPE_CHECKING:
    from epee.models import MultiExitModel

CALIBRATED = "calibrated"
"""The word that names the checkpoint's own calibrated policy where a policy name is expected."""

ParamOption = Annotated[
    list[str] | None,
    typer.Option(metavar="NAME=VALUE", help="A parameter of --policy NAME (repeatable) [default: its defaults]."),
]


def policy_from_options(name: str | None, params: list[str] | None) -> ExitPolicy | None:
    """The named policy with its parameters, or ``None`` (the checkpoint's calibrated policy) when no name."""
    if name is None:
        if params:
            raise EpeeError("--param needs --policy NAME.")
        return None
    if name == CALIBRATED:
        if params:
            raise EpeeError(
                "--param sets a named policy's parameters; the calibrated policy keeps its own. Leave out --param, "
                "or name the policy with --policy NAME."
            )
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


def policy_for_model(model: MultiExitModel, name: str | None, params: list[str] | None) -> ExitPolicy | None:
    """``--policy`` for a command that scores a policy: ``None`` when not given, the stored one for ``calibrated``."""
    from epee.runtime.predict import resolve_policy

    if name is None and not params:
        return None
    chosen = policy_from_options(name, params)
    if chosen is None:
        if model.config.policy is None:
            raise EpeeError(
                "This checkpoint has no calibrated policy; run `epee calibrate CHECKPOINT` first, or name a policy "
                "with --policy NAME --param KEY=VALUE."
            )
        chosen = policy_from_params(model.config.policy)
    return resolve_policy(model, chosen)
