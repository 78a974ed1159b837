"""read_table on tiny hand-made files, including malformed ones."""

import json

import pytest

from epee.data import read_table
from epee.data.tabular import read_rows
from epee.errors import EpeeError


def test_csv_with_quoted_newlines_and_multi_labels(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,note,tags\n1,"first line\nsecond, line",a;b\n2,plain,\n', encoding="utf-8")
    examples = read_table(path, text_column="note", label_column="tags", label_separator=";", group_column="id")
    assert [example.text for example in examples] == ["first line\nsecond, line", "plain"]
    assert [example.labels for example in examples] == [("a", "b"), ()]
    assert examples[0].group == "1"


def test_tsv_single_label_with_text_pair(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("q\tp\tlabel\nwhat?\tthis.\tyes\n", encoding="utf-8")
    (example,) = read_table(path, text_column="q", text_pair_column="p", label_column="label")
    assert (example.text, example.text_pair, example.labels) == ("what?", "this.", ("yes",))


def test_jsonl_and_json_array_with_list_labels(tmp_path):
    records = [{"text": "one", "labels": ["x", "y"]}, {"text": "two", "labels": "x"}]
    (tmp_path / "data.jsonl").write_text("\n".join(json.dumps(record) for record in records) + "\n\n")
    (tmp_path / "data.json").write_text(json.dumps(records))
    for name in ("data.jsonl", "data.json"):
        examples = read_table(tmp_path / name, text_column="text", label_column="labels")
        assert [example.labels for example in examples] == [("x", "y"), ("x",)]


def test_raw_tsv_keeps_quotes_and_crlf(tmp_path):
    path = tmp_path / "raw.tsv"
    path.write_bytes(b'sentence\tlabel\r\nHe said "yes\tCPR:3\r\nplain\tFalse\r\n')
    rows = read_rows(path, quoting=False)
    assert [row.values for row in rows] == [
        {"sentence": 'He said "yes', "label": "CPR:3"},
        {"sentence": "plain", "label": "False"},
    ]
    assert [row.line for row in rows] == [2, 3]


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(EpeeError, match="does not exist"):
        read_table(tmp_path / "absent.csv", text_column="t", label_column="l")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(ValueError, match=r"suffix '.xlsx'.*'csv', 'json', 'jsonl', 'parquet', 'tsv'"):
        read_table(tmp_path / "data.xlsx", text_column="t", label_column="l")
    with pytest.raises(ValueError, match="Unknown table format 'xml'"):
        read_table(tmp_path / "data.xlsx", format="xml", text_column="t", label_column="l")


def test_missing_column_lists_the_existing_ones(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("sentence,label\nhello,a\n")
    with pytest.raises(ValueError, match=r"Column 'text' is missing .* columns there are \['sentence', 'label'\]"):
        read_table(path, text_column="text", label_column="label")


def test_empty_text_names_the_row(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('text,label\nhello,a\n"  ",b\n')
    with pytest.raises(ValueError, match=r"Row 2 \(line 3\) of .* empty 'text'"):
        read_table(path, text_column="text", label_column="label")


def test_empty_single_label_is_rejected(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,label\nhello,\n")
    with pytest.raises(ValueError, match="empty label"):
        read_table(path, text_column="text", label_column="label")


def test_malformed_json_line_names_the_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "broken", \n')
    with pytest.raises(ValueError, match="Line 2 of .* not valid JSON"):
        read_table(path, text_column="text", label_column="label")


def test_wrong_field_count_in_raw_file(tmp_path):
    path = tmp_path / "raw.tsv"
    path.write_text("sentence\tlabel\na\tb\tc\n")
    with pytest.raises(ValueError, match="Line 2 .* 3 fields but the header has 2"):
        read_rows(path, quoting=False)
