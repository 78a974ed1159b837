"""The user's own images: a MedMNIST-layout .npz or a folder of class folders, decoded by Pillow."""

import numpy as np
import pytest
from PIL import Image

from epee.data import dataset_from_files
from epee.data.user_images import read_image, read_images_to_predict
from epee.errors import EpeeError


def _medmnist(path, counts=(12, 4, 4), rgb=False, **extra):
    """A MedMNIST-layout file whose image i of a split is filled with the value i and labelled i % 2."""
    arrays = {}
    for prefix, count in zip(("train", "val", "test"), counts, strict=True):
        shape = (count, 6, 6, 3) if rgb else (count, 6, 6)
        arrays[f"{prefix}_images"] = np.arange(count, dtype=np.uint8).reshape(-1, *([1] * (len(shape) - 1))) * np.ones(
            shape, dtype=np.uint8
        )
        arrays[f"{prefix}_labels"] = (np.arange(count) % 2).reshape(-1, 1).astype(np.uint8)
    arrays.update(extra)
    np.savez(path, **arrays)
    return path


def _png(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)
    return path


def test_a_medmnist_npz_keeps_its_splits_images_and_class_ids(tmp_path):
    dataset = dataset_from_files(_medmnist(tmp_path / "scans.npz"))
    assert (dataset.name, dataset.task, dataset.label_names) == ("scans", "single_label", ["0", "1"])
    assert [len(split) for split in (dataset.train, dataset.dev, dataset.test)] == [12, 4, 4]
    assert [int(example.image[0, 0]) for example in dataset.train] == list(range(12))  # order kept
    assert [example.labels for example in dataset.test] == [("0",), ("1",), ("0",), ("1",)]
    assert dataset.train[0].image.shape == (6, 6) and not dataset.train[0].is_rgb


def test_an_npz_may_be_rgb_name_its_labels_and_lack_dev(tmp_path):
    path = tmp_path / "colour.npz"
    arrays = dict(np.load(_medmnist(tmp_path / "tmp.npz", counts=(20, 4, 4), rgb=True)))
    del arrays["val_images"], arrays["val_labels"]
    np.savez(path, **arrays, label_names=np.array(["benign", "malignant"]))
    dataset = dataset_from_files(path, seed=3)
    assert dataset.label_names == ["benign", "malignant"] and dataset.train[0].is_rgb
    assert len(dataset.dev) == 2 and len(dataset.train) == 18  # a seeded, stratified 10% of train
    assert {example.labels for example in dataset.dev} == {("benign",), ("malignant",)}


def test_class_ids_keep_numeric_order(tmp_path):
    labels = np.arange(24) % 12  # "10" and "11" must come after "2"
    np.savez(tmp_path / "many.npz", train_images=np.zeros((24, 4, 4), np.uint8), train_labels=labels)
    assert dataset_from_files(tmp_path / "many.npz").label_names == [str(index) for index in range(12)]


def test_a_multi_label_npz(tmp_path):
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]] * 5, np.uint8)
    np.savez(tmp_path / "chest.npz", train_images=np.zeros((20, 4, 4), np.uint8), train_labels=labels)
    dataset = dataset_from_files(tmp_path / "chest.npz")
    assert dataset.task == "multi_label" and dataset.metric == "multilabel_micro_f1"
    assert dataset.label_names == ["0", "1", "2"]
    assert {example.labels for example in dataset.train} <= {("0", "2"), ("1",), ("0", "1"), ("2",)}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda a: [a.pop("train_images"), a.pop("train_labels")], "lacks the arrays 'train_images'"),
        (lambda a: a.pop("train_images"), "has 'train_labels' but not 'train_images'"),
        (lambda a: a.pop("val_labels"), "has 'val_images' but not 'val_labels'"),
        (lambda a: a.update(test_labels=a["test_labels"][:3]), "has 4 images but 3 labels"),
        (lambda a: a.update(train_images=a["train_images"].astype(np.float32)), "must be uint8"),
        (lambda a: a.update(train_images=a["train_images"][:, :, :, None]), "images must be [N, height, width]"),
        (lambda a: a.update(train_labels=a["train_labels"].astype(np.float64)), "integer class ids"),
        (lambda a: a.update(test_labels=a["test_labels"] + 5), "test_labels has 7 classes, but the file has 2"),
        (lambda a: a.update(train_labels=a["train_labels"].astype(np.int64) - 1), "negative class id -1"),
        (lambda a: a.update(label_names=np.array(["only one"])), "has 2 classes, but the file has 1"),
    ],
)
def test_a_malformed_npz_is_one_sentence(tmp_path, change, says):
    arrays = dict(np.load(_medmnist(tmp_path / "good.npz")))
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(EpeeError) as error:
        dataset_from_files(tmp_path / "bad.npz")
    assert says in str(error.value) and str(error.value).count("\n") == 0


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    arrays = dict(np.load(_medmnist(tmp_path / "good.npz")))
    arrays["train_labels"] = np.array([{"label": 1}] * 12, dtype=object)
    np.savez(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(EpeeError, match="holds Python objects, which epee does not unpickle"):
        dataset_from_files(tmp_path / "pickled.npz")


def test_a_file_that_is_not_an_npz_is_one_sentence(tmp_path):
    (tmp_path / "fake.npz").write_text("train_images,train_labels\n")
    with pytest.raises(EpeeError, match="is not a readable .npz file"):
        dataset_from_files(tmp_path / "fake.npz")


def test_an_image_folder_with_split_folders(tmp_path):
    for split, count in (("train", 6), ("val", 2), ("test", 2)):
        for index in range(count):
            _png(tmp_path / "xr" / split / "normal" / f"{index}.png", np.full((5, 7), index, np.uint8))
            _png(tmp_path / "xr" / split / "pneumonia" / f"{index}.jpg", np.full((9, 9, 3), 200, np.uint8))
    (tmp_path / "xr" / "train" / "normal" / ".DS_Store").write_bytes(b"\0")  # hidden: ignored
    dataset = dataset_from_files(tmp_path / "xr")
    assert dataset.name == "xr" and dataset.label_names == ["normal", "pneumonia"]
    assert [len(split) for split in (dataset.train, dataset.dev, dataset.test)] == [12, 4, 4]
    normal = [example for example in dataset.train if example.labels == ("normal",)]
    assert [int(example.image[0, 0]) for example in normal] == list(range(6)) and normal[0].image.shape == (5, 7)
    colour = next(example for example in dataset.train if example.labels == ("pneumonia",))
    assert colour.image.shape == (9, 9, 3)


def test_one_folder_of_class_folders_is_split_by_seed(tmp_path):
    for label in ("a", "b"):
        for index in range(10):
            _png(tmp_path / "all" / label / f"{index:02d}.png", np.full((4, 4), index * 10 + (label == "b"), np.uint8))
    first, again, other = (dataset_from_files(tmp_path / "all", seed=seed) for seed in (1, 1, 2))
    assert [len(split) for split in (first.train, first.dev, first.test)] == [16, 2, 2]
    keys = [[int(example.image[0, 0]) for example in split] for split in (first.train, first.dev, first.test)]
    assert keys == [[int(example.image[0, 0]) for example in split] for split in (again.train, again.dev, again.test)]
    assert sorted(sum(keys, [])) == sorted(index * 10 + b for index in range(10) for b in (0, 1))  # a partition
    assert [int(example.image[0, 0]) for example in other.dev] != keys[1]


def test_an_unreadable_image_or_a_stray_file_is_one_sentence(tmp_path):
    _png(tmp_path / "data" / "train" / "a" / "good.png", np.zeros((4, 4), np.uint8))
    _png(tmp_path / "data" / "train" / "b" / "good.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "data" / "train" / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(EpeeError) as error:
        dataset_from_files(tmp_path / "data")
    assert "broken.png could not be read as an image" in str(error.value) and "\n" not in str(error.value)
    (tmp_path / "data" / "train" / "b" / "broken.png").unlink()
    (tmp_path / "data" / "train" / "b" / "notes.txt").write_text("patient notes")
    with pytest.raises(EpeeError, match="notes.txt is a .txt file in a class folder"):
        dataset_from_files(tmp_path / "data")


def test_pillow_modes_become_gray_or_rgb_uint8(tmp_path):
    gray16 = np.array([[0, 256, 65535]], dtype=np.uint16)
    assert read_image(_png(tmp_path / "16.png", gray16)).tolist() == [[0, 1, 255]]  # the top 8 bits
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 255
    assert read_image(_png(tmp_path / "rgba.png", rgba)).shape == (2, 2, 3)
    assert read_image(_png(tmp_path / "g.png", np.full((3, 2), 7, np.uint8))).tolist() == [[7, 7]] * 3


def test_images_to_predict_from_a_folder_file_or_npz(tmp_path):
    _png(tmp_path / "in" / "b" / "2.png", np.full((4, 4), 2, np.uint8))
    _png(tmp_path / "in" / "a.png", np.full((4, 4), 1, np.uint8))
    (tmp_path / "in" / "bad.png").write_bytes(b"nope")
    with pytest.raises(EpeeError, match="bad.png could not be read.*--skip-bad-rows"):
        read_images_to_predict(tmp_path / "in")
    found = read_images_to_predict(tmp_path / "in", skip_bad=True)
    assert found.names == ["a.png", "b/2.png"] and [int(image[0, 0]) for image in found.images] == [1, 2]
    assert [bad["image"] for bad in found.bad] == ["bad.png"]
    assert read_images_to_predict(tmp_path / "in" / "a.png").names == ["a.png"]
    from_npz = read_images_to_predict(_medmnist(tmp_path / "m.npz"))
    assert from_npz.names[:2] == ["test_images[0]", "test_images[1]"] and len(from_npz.images) == 4
