"""Turn the library's user-facing exceptions into one red sentence and exit code 2, not a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

F = TypeVar("F", bound=Callable)
USER_ERRORS = (ValueError, FileNotFoundError, KeyError, OSError)
console = Console(stderr=True)


def user_errors(command: F) -> F:
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            console.print(f"[bold red]Error:[/bold red] {message}", highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]
