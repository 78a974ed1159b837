"""The one error type for mistakes a user can fix: a bad file, option, value or checkpoint.

The command line prints an :class:`EpeeError` as one red sentence (its traceback only with ``-v``);
anything else is a bug and shows its traceback. It subclasses :class:`ValueError` so library callers
who already catch ``ValueError`` keep working.
"""


class EpeeError(ValueError):
    """A user error: the message says what was wrong, with the value, and how to fix it."""
