"""dataset_from_files: the user's own tables as a Dataset."""

import pytest

from epee.data.user_files import dataset_from_files, default_metric


def _write(path, rows):
    path.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in rows), encoding="utf-8")
    return path


def test_single_label_with_carved_dev(tmp_path):
    rows = [(f"good {index}", "pos") for index in range(20)] + [(f"bad {index}", "neg") for index in range(10)]
    train = _write(tmp_path / "reviews.csv", rows)
    dataset = dataset_from_files(train, seed=1)
    # two classes: F1 of the rarer one by default (BLURB's binary convention), unless one is named
    assert (dataset.name, dataset.task, dataset.metric, dataset.positive_label) == (
        "reviews",
        "single_label",
        "f1_positive",
        "neg",
    )
    assert dataset.label_names == ["neg", "pos"]
    named = dataset_from_files(train, seed=1, positive_label="pos")
    assert (named.metric, named.positive_label) == ("f1_positive", "pos")
    assert (len(dataset.train), len(dataset.dev), dataset.test) == (27, 3, None)


def test_multi_label_and_negative_label_choose_the_metric(tmp_path):
    train = _write(tmp_path / "train.csv", [("a", "x;y"), ("b", ""), ("c", "y")])
    dataset = dataset_from_files(train, dev_path=train, label_separator=";")
    assert (dataset.task, dataset.metric, dataset.label_names) == ("multi_label", "multilabel_micro_f1", ["x", "y"])
    relations = _write(tmp_path / "rel.csv", [("a", "none"), ("b", "binds"), ("c", "none")])
    dataset = dataset_from_files(relations, dev_path=relations, negative_label="none")
    assert dataset.metric == "micro_f1_excluding_negative"


def test_single_class_file_is_rejected(tmp_path):
    train = _write(tmp_path / "one.csv", [("a", "pos"), ("b", "pos")])
    with pytest.raises(ValueError, match="fewer than 2 classes"):
        dataset_from_files(train, dev_path=train)


def test_unseen_test_label_names_the_split(tmp_path):
    train = _write(tmp_path / "train.csv", [("a", "pos"), ("b", "neg")])
    test = _write(tmp_path / "test.csv", [("c", "neutral")])
    with pytest.raises(ValueError, match="Label 'neutral' appears in the test split"):
        dataset_from_files(train, dev_path=train, test_path=test)


def test_the_default_metric_of_user_data():
    assert default_metric(multi_label=False, num_classes=2) == "f1_positive"
    assert default_metric(multi_label=False, num_classes=3) == "macro_f1"
    assert default_metric(multi_label=False, num_classes=3, positive_label="a") == "f1_positive"
    assert default_metric(multi_label=False, num_classes=2, negative_label="none") == "micro_f1_excluding_negative"
    assert default_metric(multi_label=True, num_classes=2) == "multilabel_micro_f1"


def test_a_tie_makes_the_later_class_positive(tmp_path):
    rows = [(f"good {index}", "yes") for index in range(5)] + [(f"bad {index}", "no") for index in range(5)]
    train = _write(tmp_path / "even.csv", rows)
    assert dataset_from_files(train, dev_path=train).positive_label == "yes"


def test_metric_options_choose_and_check_the_metric(tmp_path):
    rows = [(f"good {index}", "pos") for index in range(20)] + [(f"bad {index}", "neg") for index in range(10)]
    train = _write(tmp_path / "reviews.csv", rows)
    named = dataset_from_files(train, metric="f1_positive", positive_label="pos")
    assert (named.metric, named.positive_label) == ("f1_positive", "pos")
    assert dataset_from_files(train, metric="micro_f1").metric == "accuracy"  # micro-F1 over every class is accuracy
    assert dataset_from_files(train, metric="auc").metric == "auc"
    excluding = dataset_from_files(train, metric="micro_f1_excluding", negative_label="neg")
    assert (excluding.metric, excluding.negative_label) == ("micro_f1_excluding_negative", "neg")
    for options, says in (
        ({"metric": "f1"}, "Unknown --metric 'f1'"),
        ({"metric": "micro_f1_excluding"}, "name it with --negative-label"),
        ({"metric": "macro_f1", "positive_label": "pos"}, "--positive-label names the class f1_positive scores"),
        ({"metric": "f1_positive", "positive_label": "maybe"}, "Positive label 'maybe'"),
        ({"positive_label": "maybe"}, "Positive label 'maybe'"),
        ({"negative_label": "neg", "positive_label": "pos"}, "the metric is 'micro_f1_excluding_negative'"),
    ):
        with pytest.raises(ValueError, match=says):
            dataset_from_files(train, **options)
    three = _write(tmp_path / "three.csv", rows + [("meh", "mid"), ("so so", "mid")])
    with pytest.raises(ValueError, match="needs --positive-label for 3 classes"):
        dataset_from_files(three, metric="f1_positive")
    assert dataset_from_files(three).metric == "macro_f1"
    three_named = dataset_from_files(three, positive_label="mid")
    assert (three_named.metric, three_named.positive_label) == ("f1_positive", "mid")
    multi = _write(tmp_path / "multi.csv", [("a", "x;y"), ("b", "x"), ("c", "y")] * 4)
    assert dataset_from_files(multi, label_separator=";", metric="macro_f1").metric == "multilabel_macro_f1"
    with pytest.raises(ValueError, match="does not apply to multi-label data"):
        dataset_from_files(multi, label_separator=";", metric="auc")


def _split_file(path, rows):
    path.write_text("text,label,split\n" + "".join(f"{text},{label},{split}\n" for text, label, split in rows))
    return path


SPLIT_ROWS = [(f"train {i}", "pos" if i % 2 else "neg", "train") for i in range(20)]
SPLIT_ROWS += [("dev a", "pos", "Validation"), ("dev b", "neg", "dev")]
SPLIT_ROWS += [("test a", "pos", "test"), ("test b", "neg", " TEST ")]


def test_a_split_column_gives_each_row_its_split(tmp_path):
    data = _split_file(tmp_path / "notes.csv", SPLIT_ROWS)
    dataset = dataset_from_files(data, split_column="split")
    assert [example.text for example in dataset.train] == [f"train {i}" for i in range(20)]
    assert [example.text for example in dataset.dev] == ["dev a", "dev b"]
    assert [example.text for example in dataset.test] == ["test a", "test b"]


def test_without_dev_rows_dev_is_carved_from_the_train_rows_only(tmp_path):
    data = _split_file(tmp_path / "notes.csv", [row for row in SPLIT_ROWS if row[2] != "dev" and "dev" not in row[0]])
    dataset = dataset_from_files(data, split_column="split", seed=3)
    assert {example.text for example in dataset.train + dataset.dev} == {f"train {i}" for i in range(20)}
    assert len(dataset.dev) == 2 and [example.text for example in dataset.test] == ["test a", "test b"]


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        (SPLIT_ROWS, {}, "pass --split-column split to use it"),
        ([*SPLIT_ROWS, ("odd", "pos", "holdout")], {"split_column": "split"}, "has 'holdout' in the split column"),
        ([*SPLIT_ROWS, ("odd", "pos", "secret patient words")], {"split_column": "split"}, "a 20-character value"),
        ([row for row in SPLIT_ROWS if row[2] != "train"], {"split_column": "split"}, "No row of"),
    ],
    ids=["unused-split-column", "unknown-value", "value-not-echoed", "no-train-rows"],
)
def test_split_column_mistakes_are_one_sentence(tmp_path, rows, options, message):
    data = _split_file(tmp_path / "notes.csv", rows)
    with pytest.raises(ValueError, match=message) as error:
        dataset_from_files(data, **options)
    assert "patient" not in str(error.value)


def test_a_split_column_and_a_file_for_the_same_split_conflict(tmp_path):
    data = _split_file(tmp_path / "notes.csv", SPLIT_ROWS)
    test = _write(tmp_path / "test.csv", [("other", "pos")])
    with pytest.raises(ValueError, match="marks 2 rows as test, and --test gives a test file too"):
        dataset_from_files(data, split_column="split", test_path=test)
