"""Dataset validation: a dataset that constructs is one a model can train on."""

import numpy as np
import pytest

from epee.data import Dataset, Example, ImageExample


def _dataset(train, dev=None, test=None, task="single_label", label_names=("a", "b"), **kwargs):
    return Dataset(
        name="toy",
        task=task,
        label_names=list(label_names),
        train=train,
        dev=dev,
        test=test,
        metric="accuracy",
        **kwargs,
    )


def test_example_stores_labels_as_tuple():
    example = Example("text", ["a", "b"])
    assert example.labels == ("a", "b")
    assert example.text_pair is None and example.group is None


def test_image_example_needs_gray_or_rgb_uint8():
    assert ImageExample(np.zeros((28, 28), dtype=np.uint8), ("a",)).labels == ("a",)
    assert ImageExample(np.zeros((20, 28, 3), dtype=np.uint8), ("a",)).is_rgb
    for shape, dtype in (((28, 28, 4), np.uint8), ((28, 28), np.float32), ((28,), np.uint8), ((0, 5), np.uint8)):
        with pytest.raises(ValueError, match="image example needs"):
            ImageExample(np.zeros(shape, dtype=dtype), ("a",))


def test_valid_dataset_lists_existing_splits():
    dataset = _dataset([Example("x", ("a",)), Example("y", ("b",))], test=[Example("z", ("a",))])
    assert list(dataset.splits()) == ["train", "test"]


def test_fewer_than_two_classes_is_rejected():
    with pytest.raises(ValueError, match="fewer than 2 classes"):
        _dataset([Example("x", ("a",))], label_names=("a",))


def test_label_only_in_dev_is_named_with_its_split():
    train = [Example("x", ("a",)), Example("y", ("a",))]
    with pytest.raises(ValueError, match=r"Label 'b' appears in the dev split .* never in train"):
        _dataset(train, dev=[Example("z", ("b",))])


def test_empty_text_names_split_and_position():
    with pytest.raises(ValueError, match="Example 1 of the train split .* empty text"):
        _dataset([Example("x", ("a",)), Example("  ", ("b",))])


def test_single_label_task_needs_exactly_one_label():
    with pytest.raises(ValueError, match="2 labels .* single-label"):
        _dataset([Example("x", ("a", "b"))])


def test_multi_label_examples_may_have_no_label():
    dataset = _dataset([Example("x", ()), Example("y", ("a", "b"))], task="multi_label")
    assert dataset.train[0].labels == ()


def test_unknown_label_and_task_and_negative_are_rejected():
    with pytest.raises(ValueError, match="label 'c', which is not among"):
        _dataset([Example("x", ("c",))])
    with pytest.raises(ValueError, match="task 'regression'"):
        _dataset([Example("x", ("a",))], task="regression")
    with pytest.raises(ValueError, match="Negative label 'none'"):
        _dataset([Example("x", ("a",))], negative_label="none")


def test_with_label_order_reorders_and_rejects_other_sets():
    from epee.data.examples import with_label_order

    dataset = Dataset(
        name="d",
        task="single_label",
        label_names=["a", "b"],
        train=[Example("x", ("a",)), Example("y", ("b",))],
        dev=None,
        test=None,
        metric="macro_f1",
    )
    assert with_label_order(dataset, ["b", "a"]).label_names == ["b", "a"]
    with pytest.raises(ValueError, match=r"the data has \['a'\] that the model lacks and the model has \['c'\]"):
        with_label_order(dataset, ["b", "c"])
