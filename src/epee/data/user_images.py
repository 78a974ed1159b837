"""The user's own images, for ``epee train --data``: a MedMNIST-layout ``.npz`` or a folder of image files.

* ``.npz`` (the MedMNIST layout): ``train_images`` ``[N, H, W]`` (gray) or ``[N, H, W, 3]`` (RGB)
  uint8 and ``train_labels`` ``[N]`` or ``[N, 1]`` class ids, or ``[N, K]`` 0/1 for a multi-label
  task; ``val_*`` and ``test_*`` the same, both optional. Labels are named by their id (``"0"``,
  ``"1"``, ...) unless a ``label_names`` string array gives names. Arrays are read with
  ``allow_pickle=False``: an object array can run code when unpickled, so it is refused.
* A folder: ``root/{train,val,test}/<class>/<image>`` (``dev`` may stand for ``val``), or
  ``root/<class>/<image>`` alone, which is split by seed. Images are decoded by Pillow (PNG, JPEG,
  BMP, TIFF, GIF); gray stays gray, 16-bit gray keeps its top 8 bits, everything else becomes RGB.

Without a dev split, dev is a seeded, stratified share of train, as for user tables; a folder
without a test split gives up a share of train for test too. Images keep their size here: the
model's featurizer resizes them (:mod:`epee.tasks.image_encoding`).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from epee.data.examples import ImageExample
from epee.errors import EpeeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")
NPZ_SPLITS = {"train": "train", "dev": "val", "test": "test"}
FOLDER_SPLITS = {"train": ("train",), "dev": ("val", "dev"), "test": ("test",)}
LABEL_NAMES_KEY = "label_names"


def is_image_source(path: str | Path) -> bool:
    """Whether ``--data`` names images (a folder or an ``.npz``) rather than a table."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() == ".npz"


def read_npz_splits(path: str | Path) -> tuple[dict[str, list[ImageExample]], bool, list[str]]:
    """The splits present in a MedMNIST-layout file (train always), whether the task is multi-label, and the
    label names in class-id order."""
    path = Path(path)
    if not path.is_file():
        raise EpeeError(f"Image file {path} does not exist or is not a regular file.")
    with _open_npz(path) as arrays:
        return _npz_splits(path, {name: _array(arrays, name, path) for name in arrays.files})


def _open_npz(path: Path):
    """``np.load`` of an archive, pickles refused; anything else (a text file, a lone .npy) is a sentence."""
    try:
        arrays = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise EpeeError(
            f"{path} is not a readable .npz file ({type(error).__name__}); save it with numpy.savez."
        ) from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise EpeeError(f"{path} holds one array, not an .npz archive of named arrays; save it with numpy.savez.")
    return arrays


def _array(arrays, name: str, path: Path) -> np.ndarray:
    try:
        return arrays[name]
    except ValueError:
        raise EpeeError(
            f"The array {name!r} in {path} holds Python objects, which epee does not unpickle (it could run code); "
            "save images as uint8 arrays and labels as integer arrays."
        ) from None


def _npz_splits(path: Path, arrays: dict[str, np.ndarray]) -> tuple[dict[str, list[ImageExample]], bool, list[str]]:
    for prefix in NPZ_SPLITS.values():
        present = [f"{prefix}_{kind}" in arrays for kind in ("images", "labels")]
        if any(present) and not all(present):
            images, labels = f"{prefix}_images", f"{prefix}_labels"
            have, lack = (images, labels) if present[0] else (labels, images)
            raise EpeeError(f"{path} has {have!r} but not {lack!r}; each split needs both arrays.")
    if "train_images" not in arrays:
        raise EpeeError(
            f"{path} lacks the arrays 'train_images' and 'train_labels' (it holds {sorted(arrays)[:8]}); "
            "an image .npz follows the MedMNIST layout: train_images, train_labels, and optionally val_* and test_*."
        )
    multi_label = arrays["train_labels"].ndim == 2 and arrays["train_labels"].shape[1] > 1
    ids = {
        prefix: _class_ids(arrays[f"{prefix}_labels"], len(arrays[f"{prefix}_images"]), multi_label, f"{path}:{prefix}")
        for prefix in NPZ_SPLITS.values()
        if f"{prefix}_images" in arrays
    }
    width = ids["train"].shape[1] if multi_label else int(ids["train"].max()) + 1
    names = _label_names(arrays.get(LABEL_NAMES_KEY), path) or [str(index) for index in range(width)]
    splits = {}
    for split, prefix in NPZ_SPLITS.items():
        if prefix not in ids:
            continue
        images = _npz_images(arrays[f"{prefix}_images"], f"{path}:{prefix}_images")
        used = ids[prefix].shape[1] if multi_label else int(ids[prefix].max()) + 1
        if used > len(names) or (multi_label and used != len(names)):
            raise EpeeError(
                f"{path}:{prefix}_labels has {used} classes, but the file has {len(names)} "
                f"(as many as the train labels or label_names give); every split must use the same class ids."
            )
        labels = ids[prefix]
        label_sets = (
            [tuple(names[i] for i in np.flatnonzero(row)) for row in labels]
            if multi_label
            else [(names[i],) for i in labels.tolist()]
        )
        splits[split] = [ImageExample(image, label_set) for image, label_set in zip(images, label_sets, strict=True)]
    return splits, multi_label, names


def _npz_images(images: np.ndarray, source: str) -> np.ndarray:
    gray = images.ndim == 3
    rgb = images.ndim == 4 and images.shape[-1] == 3
    if not (gray or rgb):
        raise EpeeError(
            f"{source} has shape {images.shape}; images must be [N, height, width] (gray) "
            "or [N, height, width, 3] (RGB)."
        )
    if images.dtype != np.uint8:
        raise EpeeError(f"{source} holds {images.dtype} values; images must be uint8 (0-255), as MedMNIST stores them.")
    return images


def _class_ids(labels: np.ndarray, count: int, multi_label: bool, source: str) -> np.ndarray:
    """Checked labels: class ids ``[N]`` (MedMNIST's ``[N, 1]`` flattened) or a 0/1 matrix ``[N, labels]``."""
    if count == 0:
        raise EpeeError(f"{source}_images holds no images.")
    if labels.dtype.kind not in "iub":
        raise EpeeError(f"{source}_labels holds {labels.dtype} values; labels must be integer class ids (or 0/1).")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim not in (1, 2) or (labels.ndim == 2) != multi_label:
        layout = "[N, labels] of 0/1, as train" if multi_label else "[N] or [N, 1] class ids, as train"
        raise EpeeError(f"{source}_labels has shape {labels.shape}; it must be {layout}.")
    if len(labels) != count:
        raise EpeeError(f"{source} has {count} images but {len(labels)} labels; give one label row per image.")
    if multi_label and not np.isin(labels, (0, 1)).all():
        raise EpeeError(f"{source}_labels is a multi-label matrix with values other than 0 and 1.")
    if not multi_label and labels.min() < 0:
        raise EpeeError(f"{source}_labels holds the negative class id {int(labels.min())}; class ids start at 0.")
    return labels.astype(np.int64)


def _label_names(values: np.ndarray | None, path: Path) -> list[str] | None:
    if values is None:
        return None
    if values.dtype.kind != "U" or values.ndim != 1:
        raise EpeeError(f"{path}:{LABEL_NAMES_KEY} must be a 1-D array of strings, got {values.dtype} {values.shape}.")
    names = [str(name) for name in values]
    if len(set(names)) != len(names) or not all(name.strip() for name in names):
        raise EpeeError(f"{path}:{LABEL_NAMES_KEY} must name every class once, with non-empty names.")
    return names


def read_folder_splits(root: str | Path) -> dict[str, list[ImageExample]]:
    """``{split: examples}`` of a folder of split folders, or ``{"train": ...}`` of a folder of class folders."""
    root = Path(root)
    children = {child.name: child for child in _visible(root) if child.is_dir()}
    split_folders = {
        split: children[name] for split, names in FOLDER_SPLITS.items() for name in names if name in children
    }
    if not split_folders:
        return {"train": read_class_folders(root)}
    if "train" not in split_folders:
        raise EpeeError(f"{root} has {sorted(split_folders)} folders but no 'train' folder of class folders.")
    return {split: read_class_folders(folder) for split, folder in split_folders.items()}


def read_class_folders(root: str | Path) -> list[ImageExample]:
    """Every image under ``root/<class>/``, labelled by its folder, in sorted order (the same on every machine)."""
    root = Path(root)
    if not root.is_dir():
        raise EpeeError(f"Image folder {root} does not exist or is not a folder.")
    stray = [child for child in _visible(root) if not child.is_dir()]
    if stray:
        raise EpeeError(
            f"{stray[0]} lies directly in {root}, whose entries must be class folders (root/<class>/<image>)."
        )
    examples = [
        ImageExample(image=read_image(path), labels=(class_folder.name,))
        for class_folder in _visible(root)
        for path in image_files(class_folder)
    ]
    if not examples:
        raise EpeeError(f"{root} holds no class folders with images; lay images out as {root}/<class>/<image>.png.")
    return examples


def image_files(folder: Path) -> list[Path]:
    """The image files in ``folder`` (not below), sorted; any other visible entry is an error, not skipped."""
    files = []
    for path in _visible(folder):
        if path.is_dir() or path.suffix.lower() not in IMAGE_SUFFIXES:
            kind = "a folder" if path.is_dir() else f"a {path.suffix or 'suffix-less'} file"
            raise EpeeError(f"{path} is {kind} in a class folder; a class folder holds only images {IMAGE_SUFFIXES}.")
        files.append(path)
    return files


def _visible(folder: Path) -> list[Path]:
    """Entries of ``folder`` by name, leaving out hidden ones (``.DS_Store``, editor files)."""
    return sorted(path for path in folder.iterdir() if not path.name.startswith("."))


def read_image(path: Path) -> np.ndarray:
    """One image file as uint8 ``[height, width]`` (gray) or ``[height, width, 3]``; a sentence if Pillow cannot."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return _as_uint8(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise EpeeError(
            f"{path} could not be read as an image ({type(error).__name__}); replace or remove the file."
        ) from None


def _as_uint8(image) -> np.ndarray:
    """Gray modes (and gray palettes) to ``[h, w]``, 16- and 32-bit gray to their top 8 of 16 bits, the rest RGB."""
    if image.mode.startswith("I"):  # "I;16", "I;16B", "I;16L", "I": read as 16-bit gray
        wide = np.clip(np.asarray(image).astype(np.int64), 0, 65535)
        return (wide >> 8).astype(np.uint8)
    if image.mode in ("L", "1", "LA") or (image.mode == "P" and _gray_palette(image)):
        return np.asarray(image.convert("L"))
    return np.asarray(image.convert("RGB"))


def _gray_palette(image) -> bool:
    palette = np.asarray(image.getpalette() or [], dtype=np.int64).reshape(-1, 3)
    return bool(len(palette)) and bool((palette == palette[:, :1]).all())


@dataclass
class ImagesToPredict:
    """Images to predict with the name of each (a path relative to the folder, or ``images[i]`` of an ``.npz``),
    and the files set aside as unreadable (with ``skip_bad``)."""

    images: list[np.ndarray]
    names: list[str]
    bad: list[dict[str, str]]


def read_images_to_predict(path: str | Path, *, skip_bad: bool = False) -> ImagesToPredict:
    """An image file, every image below a folder (sorted by relative path), or an ``.npz``'s ``images``
    (else ``test_images``) array."""
    path = Path(path)
    if path.suffix.lower() == ".npz" and path.is_file():
        return _npz_images_to_predict(path)
    if path.is_dir():
        files = [file for file in sorted(path.rglob("*")) if file.is_file() and not _hidden(file, path)]
        stray = [file for file in files if file.suffix.lower() not in IMAGE_SUFFIXES]
        if stray:
            raise EpeeError(f"{stray[0]} is not an image file {IMAGE_SUFFIXES}; predict a folder of images only.")
        if not files:
            raise EpeeError(f"{path} holds no image files {IMAGE_SUFFIXES} to predict.")
    elif path.is_file():
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise EpeeError(
                f"{path} is not an image file {IMAGE_SUFFIXES}; this model reads images: give an image, a folder "
                "of images or an .npz with an 'images' array."
            )
        files = [path]
    else:
        raise EpeeError(f"{path} does not exist; give an image, a folder of images or an .npz of images.")
    result = ImagesToPredict([], [], [])
    for file in files:
        name = file.relative_to(path).as_posix() if path.is_dir() else file.name
        try:
            result.images.append(read_image(file))
        except EpeeError as problem:
            if not skip_bad:
                raise EpeeError(f"{problem} Or pass --skip-bad-rows to set such files aside.") from None
            result.bad.append({"image": name, "problem": str(problem)})
            continue
        result.names.append(name)
    if not result.images:
        raise EpeeError(f"No image under {path} can be predicted; all {len(files)} were unreadable.")
    return result


def _hidden(file: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in file.relative_to(root).parts)


def _npz_images_to_predict(path: Path) -> ImagesToPredict:
    with _open_npz(path) as arrays:
        key = next((name for name in ("images", "test_images") if name in arrays.files), None)
        if key is None:
            raise EpeeError(f"{path} has no 'images' or 'test_images' array to predict; it holds {arrays.files[:8]}.")
        images = _npz_images(_array(arrays, key, path), f"{path}:{key}")
    if len(images) == 0:
        raise EpeeError(f"{path}:{key} holds no images to predict.")
    return ImagesToPredict(list(images), [f"{key}[{index}]" for index in range(len(images))], [])
