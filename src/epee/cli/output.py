"""Where commands print: one console for tables and summaries (logging and errors go to stderr)."""

from rich.console import Console

console = Console()
