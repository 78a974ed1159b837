"""Seeded stratified splits and subsets."""

from collections import Counter

import pytest

from epee.data import Example
from epee.data.sampling import stratified_split, subsample, subsample_splits


def _examples(counts):
    return [Example(f"{label} {index}", (label,)) for label, count in counts.items() for index in range(count)]


def test_stratified_split_holds_out_each_class_proportionally_and_is_seeded():
    examples = _examples({"a": 50, "b": 10, "c": 1})
    kept, held_out = stratified_split(examples, 0.2, seed=3)
    assert Counter(example.labels[0] for example in held_out) == {"a": 10, "b": 2}
    assert len(kept) + len(held_out) == len(examples)
    assert "c" in {example.labels[0] for example in kept}
    assert stratified_split(examples, 0.2, seed=3) == (kept, held_out)
    assert stratified_split(examples, 0.2, seed=4)[1] != held_out


def test_stratified_split_rejects_bad_fraction():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        stratified_split(_examples({"a": 3}), 1.0, seed=0)


def test_subsample_keeps_every_class_and_the_proportions():
    examples = _examples({"a": 900, "b": 90, "c": 10})
    subset = subsample(examples, 100, seed=0)
    assert Counter(example.labels[0] for example in subset) == {"a": 90, "b": 9, "c": 1}
    assert subset == sorted(subset, key=examples.index)


def test_subsample_covers_rare_labels_of_multi_label_data():
    examples = [Example(f"t{index}", ("common",)) for index in range(200)] + [Example("rare", ("common", "rare"))]
    subset = subsample(examples, 5, seed=1)
    assert len(subset) == 5
    assert any("rare" in example.labels for example in subset)


def test_subsample_by_whole_groups():
    examples = [Example(f"s{index}", ("x",) if index % 3 else (), group=str(index // 4)) for index in range(40)]
    subset = subsample(examples, 10, seed=0, whole_groups=True)
    assert len(subset) <= 10
    sizes = Counter(example.group for example in subset)
    assert all(size == 4 for size in sizes.values())


def test_subsample_splits_per_split_caps():
    splits = {"train": _examples({"a": 20, "b": 20}), "dev": _examples({"a": 5, "b": 5}), "test": None}
    capped = subsample_splits(splits, {"train": 10}, seed=0)
    assert (len(capped["train"]), len(capped["dev"]), capped["test"]) == (10, 10, None)
    with pytest.raises(ValueError, match="unknown splits \\['valid'\\]"):
        subsample_splits(splits, {"valid": 3}, seed=0)
