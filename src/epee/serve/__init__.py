"""``epee serve``: an HTTP service that batches requests across clients and runs them with early exits."""

from epee.serve.app import create_app
from epee.serve.service import PredictionService
from epee.serve.settings import ServeSettings

__all__ = ["PredictionService", "ServeSettings", "create_app"]
