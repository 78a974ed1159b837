"""Batched dynamic early-exit inference: finished samples leave the batch."""

from epee.runtime.dynamic import EarlyExitOutput, early_exit_forward
from epee.runtime.predict import Predictions, predict

__all__ = ["EarlyExitOutput", "Predictions", "early_exit_forward", "predict"]
