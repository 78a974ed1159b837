"""Readers that turn benchmark and user files into validated datasets of examples."""

from epee.data.examples import Dataset, Example, ImageExample
from epee.data.registry import DATASETS, load_dataset
from epee.data.tabular import read_table
from epee.data.user_files import dataset_from_files

__all__ = ["DATASETS", "Dataset", "Example", "ImageExample", "dataset_from_files", "load_dataset", "read_table"]
