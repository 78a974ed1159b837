"""Turn user errors into one red sentence and exit code 2; anything else is a bug and keeps its traceback.

User errors are :class:`epee.errors.EpeeError` and the operating system's file errors (a missing,
unreadable or unwritable path: their message names the path, never a file's contents). With
``--verbose`` the traceback is printed as well.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

from epee.errors import EpeeError

F = TypeVar("F", bound=Callable)
USER_ERRORS = (EpeeError, OSError)
console = Console(stderr=True)


def user_errors(command: F) -> F:
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                console.print_exception()
            console.print(f"[bold red]Error:[/bold red] {error}", highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]
