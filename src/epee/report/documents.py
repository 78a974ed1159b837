"""``report.md`` and ``report.html`` from one :class:`ReportContent`, so both always say the same thing.

The HTML is a single file with its stylesheet inline and no scripts or remote resources: it opens
offline, in a browser or a headless one, with the PNGs beside it referenced by relative path.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from epee.table import Table, to_html, to_markdown


@dataclass(frozen=True)
class FigureEntry:
    """A PNG beside the report and the sentence that says what to read from it."""

    file_name: str
    heading: str
    caption: str


@dataclass(frozen=True)
class ReportContent:
    title: str
    facts: Mapping[str, str]
    explanation: str
    summary: Table
    speedup_note: str
    per_exit: Table
    figures: tuple[FigureEntry, ...]


def speedup_note(num_layers: int, busy: bool = False) -> str:
    """The sentence that names the three speed-up figures, so no reader mistakes one for another; with
    ``busy``, the warning that wall-clock figures marked ``!`` were taken on a machine too busy to time."""
    warning = (
        " Wall-clock figures marked ! are flagged: machine too busy to time (the figure beats the layer speed-up "
        "by more than 10%, which skipping layers cannot do, or its interleaved rounds spread by more than 25%)."
    )
    return (
        "Policies were selected on the dev (calibration) split and measured on test. "
        f"Three speed-ups are reported and they count different things: the layer speed-up is L / mean exit "
        f"layer (L = {num_layers}), i.e. backbone layers skipped, not time; the FLOPs speed-up counts "
        "floating-point operations including every exit head a sample passes, against the plain model with "
        "one classification head; the wall-clock speed-up is measured time of the plain Hugging Face model "
        "over the early-exit runtime on the same inputs, batch size and machine (n/a where not measured), "
        "as the median ratio of interleaved rounds that run every path in a random order."
    ) + (warning if busy else "")


def render_markdown(content: ReportContent) -> str:
    facts = [f"- **{name}**: {value}" for name, value in content.facts.items()]
    figures = [
        part
        for figure in content.figures
        for part in (f"### {figure.heading}", "", f"![{figure.heading}]({figure.file_name})", "", figure.caption, "")
    ]
    lines = [
        f"# {content.title}",
        "",
        *facts,
        "",
        content.explanation,
        "",
        "## Summary",
        "",
        to_markdown(content.summary),
        "",
        content.speedup_note,
        "",
        "## Figures",
        "",
        *figures,
        "## Metric of each exit",
        "",
        to_markdown(content.per_exit),
        "",
    ]
    return "\n".join(lines)


STYLESHEET = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1f2328; background: #fff;
       max-width: 1180px; margin: 2em auto; padding: 0 1.5em; line-height: 1.5; }
h1 { font-size: 1.7em; margin-bottom: 0.3em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
ul.facts { list-style: none; padding: 0; margin: 0.5em 0 1em; display: grid;
           grid-template-columns: max-content 1fr; gap: 0.15em 1.2em; }
ul.facts li { display: contents; }
ul.facts .name { font-weight: bold; color: #57606a; }
p.explanation { background: #f6f8fa; border-left: 4px solid #0969da; padding: 0.6em 1em; }
p.note { color: #57606a; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.93em; }
th, td { border: 1px solid #d0d7de; padding: 0.35em 0.7em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfcfd; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: 0.92em; margin-top: 0.3em; }
"""


def render_html(content: ReportContent) -> str:
    escape = html.escape
    facts = "\n".join(
        f'<li><span class="name">{escape(name)}</span><span>{escape(value)}</span></li>'
        for name, value in content.facts.items()
    )
    figures = "\n".join(
        f"<figure>\n<h3>{escape(figure.heading)}</h3>\n"
        f'<img src="{escape(figure.file_name)}" alt="{escape(figure.heading)}">\n'
        f"<figcaption>{escape(figure.caption)}</figcaption>\n</figure>"
        for figure in content.figures
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(content.title)}</title>
<style>{STYLESHEET}</style>
</head>
<body>
<h1>{escape(content.title)}</h1>
<ul class="facts">
{facts}
</ul>
<p class="explanation">{escape(content.explanation)}</p>
<h2>Summary</h2>
{to_html(content.summary)}
<p class="note">{escape(content.speedup_note)}</p>
<h2>Figures</h2>
{figures}
<h2>Metric of each exit</h2>
{to_html(content.per_exit)}
</body>
</html>
"""
