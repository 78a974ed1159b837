"""Training the exits: joint depth-weighted loss, two-stage, self-distillation, full or PEFT."""

from epee.train.settings import TrainingSettings
from epee.train.trainer import TrainingHistory, train

__all__ = ["TrainingHistory", "TrainingSettings", "train"]
