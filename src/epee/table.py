"""One table type for every place epee shows figures: the terminal, report.md, report.html, BENCHMARKS.md.

A builder formats each cell once (points, factors, parameters) into a :class:`Table`; the renderers
below only lay the cells out. The terminal, the report and the benchmark page therefore cannot
disagree about a figure. Import-light: ``rich`` is imported only to render for the terminal.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import rich.table


@dataclass(frozen=True)
class Table:
    """Column headers and rows of already formatted cells.

    Columns from ``numeric_from`` on hold figures and are right-aligned. ``section_starts`` are the
    rows before which the terminal draws a rule (Markdown and HTML have none). ``title`` and
    ``caption`` are shown on the terminal; the documents put their own headings around a table.
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric_from: int = 0
    title: str | None = None
    caption: str | None = None
    section_starts: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        widths = {len(row) for row in self.rows}
        if widths - {len(self.headers)}:
            raise ValueError(f"Every row needs {len(self.headers)} cells; got rows of {sorted(widths)} cells.")

    def numeric(self, column: int) -> bool:
        return column >= self.numeric_from


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table; pipes inside cells are escaped."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    alignment = ["---:" if table.numeric(column) else "---" for column in range(len(table.headers))]
    return "\n".join([line(table.headers), "|" + "|".join(alignment) + "|", *(line(row) for row in table.rows)])


def to_html(table: Table) -> str:
    """An HTML table; numeric columns carry ``class="num"`` so the stylesheet right-aligns them."""

    def cell(tag: str, column: int, text: str) -> str:
        numeric = ' class="num"' if table.numeric(column) else ""
        return f"<{tag}{numeric}>{html.escape(text)}</{tag}>"

    header = "".join(cell("th", column, text) for column, text in enumerate(table.headers))
    body = "\n".join(
        "<tr>" + "".join(cell("td", column, text) for column, text in enumerate(row)) + "</tr>" for row in table.rows
    )
    return f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def to_rich(table: Table) -> rich.table.Table:
    """A ``rich`` table for the terminal; cells are literal text, never read as console markup."""
    from rich.table import Table as RichTable
    from rich.text import Text

    rendered = RichTable(title=table.title, caption=table.caption)
    for column, header in enumerate(table.headers):
        rendered.add_column(header, justify="right" if table.numeric(column) else "left")
    for position, row in enumerate(table.rows):
        if position in table.section_starts:
            rendered.add_section()
        rendered.add_row(*(Text(cell) for cell in row))
    return rendered
