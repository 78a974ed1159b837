"""load_dataset: names, data folder resolution and option checking."""

import pytest

from epee.data import DATASETS, load_dataset
from epee.errors import EpeeError


def test_all_benchmarks_are_registered():
    assert set(DATASETS) == {
        "hoc",
        "chemprot",
        "ddi",
        "phee",
        "phee-trigger",
        "mtsamples",
        "druglib",
        "drugreview",
        "pneumoniamnist",
    }


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown dataset 'pubmedqa'; known datasets are \['chemprot', 'ddi'"):
        load_dataset("pubmedqa")


def test_missing_folder_says_where_it_looked_and_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("EPEE_DATA_DIR", str(tmp_path))
    with pytest.raises(EpeeError, match=rf"looked for in {tmp_path}/ddi.*EPEE_DATA_DIR"):
        load_dataset("ddi")


def test_unknown_option_lists_the_accepted_ones():
    with pytest.raises(ValueError, match=r"does not take the options \['top_k'\]; it accepts \['dev_fraction'"):
        load_dataset("drugreview", top_k=3)


def test_env_var_points_at_the_data(shared_data_dir, monkeypatch):
    monkeypatch.setenv("EPEE_DATA_DIR", str(shared_data_dir))
    assert len(load_dataset("ddi", max_examples=20).train) == 20
