"""Issue 20, item 6: errors name the options as the user typed them, and suggest only options that can help."""

import pytest
from typer.testing import CliRunner

from epee.cli.errors import as_typed
from epee.cli.main import app

runner = CliRunner()
ROWS = "text,label\n" + "".join(f"note {n},{'yes' if n % 2 else 'no'}\n" for n in range(20))


@pytest.mark.parametrize(
    ("arguments", "said", "not_said"),
    [
        (["--max-steps", "0"], "--max-steps must be at least 1, got 0.", "max_steps"),
        (["--first-exit-layer", "0"], "--first-exit-layer must be >= 1", "first_exit_layer"),
        (["--max-length", "0"], "--max-length must be at least 1 token", "max_length"),
        (["--time-budget-minutes", "0"], "--time-budget-minutes must be positive", "time_budget_minutes"),
        (["--select-by", "best"], "--select-by 'best' is unknown; use one of", "select_by"),
        (["--depth-weights", "deep"], "must be one of asc, asc_last_half, uniform or numbers", "depth_weights"),
    ],
    ids=["max-steps", "first-exit-layer", "max-length", "time-budget", "select-by", "depth-weights"],
)
def test_train_errors_name_the_options_typed(tmp_path, arguments, said, not_said):
    data = tmp_path / "notes.csv"
    data.write_text(ROWS)
    result = runner.invoke(app, ["train", "--data", str(data), *arguments, "-o", str(tmp_path / "m")])
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and said in message and not_said not in message, message


def test_the_format_and_data_dir_hints_are_options(tmp_path):
    odd = tmp_path / "notes.txt"
    odd.write_text(ROWS)
    result = runner.invoke(app, ["train", "--data", str(odd), "-o", str(tmp_path / "m")])
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and "pass --format with one of" in message and "format=" not in message
    result = runner.invoke(app, ["train", "--dataset", "ddi", "--data-dir", str(tmp_path / "none"), "-o", "m"])
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and "pass --data-dir or set EPEE_DATA_DIR" in message and "data_dir=" not in message


def test_a_missing_text_column_does_not_suggest_skipping_rows(tmp_path):
    from tests.helpers import tiny_bert_model

    tiny_bert_model(labels=("no", "yes")).save_pretrained(tmp_path / "ck")
    notes = tmp_path / "in.csv"
    notes.write_text("note\nfirst\nsecond\n")
    result = runner.invoke(app, ["predict", str(tmp_path / "ck"), str(notes), "-o", str(tmp_path / "out.jsonl")])
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and "has no column 'text'" in message and "all 2 are bad" in message
    assert "--skip-bad-rows" not in message


def test_as_typed_leaves_words_and_python_keywords_alone():
    settings = ["max_steps", "allow_degenerate", "test"]
    message = "max_steps must be at least 1; pass --allow-degenerate (allow_degenerate=True); the test file."
    expected = "--max-steps must be at least 1; pass --allow-degenerate (allow_degenerate=True); the test file."
    assert as_typed(message, settings) == expected
    assert (
        as_typed("max_steps_total and the.max_steps attribute", settings)
        == "max_steps_total and the.max_steps attribute"
    )
