"""Batched dynamic early-exit inference: finished samples leave the batch."""

from epee.runtime.dynamic import early_exit_forward
from epee.runtime.predict import Predictions, predict

__all__ = ["Predictions", "early_exit_forward", "predict"]
