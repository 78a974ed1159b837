"""Issue 20, item 6: `--help` at 80 columns shows every option name whole and every default."""

import os
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from epee.cli.main import app

COMMAND = typer.main.get_command(app)


def _blocks(text: str) -> list[str]:
    """The help of each option: its first line starts with two spaces and a dash, its text follows."""
    blocks: list[str] = []
    for line in text.splitlines():
        if re.match(r"  -", line):
            blocks.append(line)
        elif blocks and line.startswith("   "):
            blocks[-1] += "\n" + line
    return blocks


def _check(name: str, text: str) -> None:
    checked = 0
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text
    blocks = _blocks(text)
    for parameter in COMMAND.commands[name].params:
        if parameter.param_type_name != "option":  # typer vendors click: compare by kind, not class
            continue
        names = [*parameter.opts, *parameter.secondary_opts]
        found = [block for block in blocks if re.search(rf"(?<![\w-]){re.escape(names[-1])}(?![\w-])", block)]
        assert found, f"{name}: {names[-1]} is not shown whole"
        block = " ".join(found[0].split())
        for option in names:
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", block), f"{name}: {option} cut"
        if not parameter.is_flag and names[-1] != "--help":
            assert "[default:" in block or "[required]" in block, f"{name} {names[-1]} shows no default: {block}"
        checked += 1
    assert checked >= 3, f"{name}: only {checked} options checked"


def test_train_help_at_80_columns_from_the_shell():
    environment = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run(
        [sys.executable, "-c", "from epee.cli.main import app; app()", "train", "--help"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    _check("train", result.stdout)
    said = " ".join(result.stdout.split())
    assert "--head-learning-rate <float> Learning rate of the exit heads. [default: 0.001]" in said


@pytest.mark.parametrize("name", sorted(set(COMMAND.commands) - {"train"}))
def test_every_command_help_at_80_columns(name):
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0
    _check(name, result.output)
