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
    assert (dataset.name, dataset.task, dataset.metric) == ("reviews", "single_label", "macro_f1")
    assert dataset.label_names == ["neg", "pos"]
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


def test_the_default_metric_of_single_label_user_data_is_class_balanced():
    assert default_metric(multi_label=False) == "macro_f1"
    assert default_metric(multi_label=False, negative_label="none") == "micro_f1_excluding_negative"
    assert default_metric(multi_label=True) == "multilabel_micro_f1"
