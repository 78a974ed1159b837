"""One table, three renderings: the terminal, Markdown and HTML show the same cells."""

import pytest
from rich.console import Console

from epee.table import Table, to_html, to_markdown, to_rich

TABLE = Table(
    headers=("policy", "a|b", "metric"),
    rows=(("entropy", "tau=0.4", "85.12"), ("[bold]x[/bold]", "<b>", "1.00x")),
    numeric_from=2,
    title="Title",
    caption="Caption.",
    section_starts=frozenset({1}),
)


def test_markdown_escapes_pipes_and_right_aligns_numeric_columns():
    assert to_markdown(TABLE) == (
        "| policy | a\\|b | metric |\n|---|---|---:|\n| entropy | tau=0.4 | 85.12 |\n| [bold]x[/bold] | <b> | 1.00x |"
    )


def test_html_escapes_cells_and_marks_numeric_columns():
    rendered = to_html(TABLE)
    assert '<th class="num">metric</th>' in rendered and "<th>policy</th>" in rendered
    assert "<td>&lt;b&gt;</td>" in rendered and '<td class="num">85.12</td>' in rendered


def test_terminal_shows_cells_literally_with_title_caption_and_sections():
    console = Console(width=80, record=True, color_system=None)
    console.print(to_rich(TABLE))
    text = console.export_text()
    assert "[bold]x[/bold]" in text  # a cell is text, never console markup
    assert "Title" in text and "Caption." in text and "85.12" in text
    assert len([line for line in text.splitlines() if line.startswith("├")]) == 1  # the rule before row 1


def test_rows_must_fill_every_column():
    with pytest.raises(ValueError, match="3 cells"):
        Table(headers=("a", "b", "c"), rows=(("1", "2"),))
