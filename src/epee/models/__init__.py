"""Multi-exit models: backbone adapters, exit heads, checkpoints."""

from epee.models.config import MultiExitConfig
from epee.models.multi_exit import MultiExitModel

__all__ = ["MultiExitConfig", "MultiExitModel"]
