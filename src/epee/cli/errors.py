"""Turn user errors into one red sentence and exit code 2; anything else is a bug and keeps its traceback.

User errors are :class:`epee.errors.EpeeError` and the operating system's file errors (a missing,
unreadable or unwritable path: their message names the path, never a file's contents). With
``--verbose`` the traceback is printed as well.

The library's checks name settings as Python does (``max_steps must be at least 1``); on the command
line the user typed ``--max-steps``, so :func:`as_typed` rewrites every setting of the running command
to its option before the sentence is printed.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from epee.errors import EpeeError

F = TypeVar("F", bound=Callable)
USER_ERRORS = (EpeeError, OSError)
console = Console(stderr=True)


def user_errors(command: F) -> F:
    settings = list(inspect.signature(command).parameters)

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                console.print_exception()
            console.print(f"[bold red]Error:[/bold red] {escape(as_typed(str(error), settings))}", highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def as_typed(message: str, settings: Iterable[str]) -> str:
    """``message`` with each multi-word setting of the command (``max_steps``) as its option (``--max-steps``).

    ``settings`` are the command's parameter names; typer derives every option from them this way. Single
    words (``test``, ``format``) are left alone: they are also ordinary words of a sentence. A Python keyword
    with its value (``allow_degenerate=True``) is left alone too: it is the API spelling, given on purpose.
    """
    for name in settings:
        if "_" in name:
            message = re.sub(rf"(?<![\w.\-]){re.escape(name)}(?![\w]|=\S)", "--" + name.replace("_", "-"), message)
    return message
