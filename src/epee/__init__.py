"""epee: early-exit inference for biomedical foundation models."""

__version__ = "0.1.0"
