"""Batched dynamic early-exit inference: finished samples leave the batch."""

from epee.runtime.batch_predictor import BatchPredictor
from epee.runtime.dynamic import early_exit_forward
from epee.runtime.predict import Predictions, predict

__all__ = ["BatchPredictor", "Predictions", "early_exit_forward", "predict"]
