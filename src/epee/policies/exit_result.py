"""The one result of an exit decision, whether simulated over cached logits or taken by the runtime.

Offline simulation (:func:`epee.policies.simulate`), the oracle bound and the runtime's early-exit
loop (:func:`epee.runtime.early_exit_forward`) all return an :class:`ExitResult`, so calibration,
evaluation and the conformance checks compare like with like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class ExitResult:
    """Where each row exited and what it predicted there."""

    exit_index: torch.Tensor  # [batch] long, 0-based index among the exits
    logits: torch.Tensor  # [batch, classes], the logits of the exit taken

    def exit_layers(self, exit_layer_numbers: Sequence[int]) -> torch.Tensor:
        """1-based backbone layer of each row's exit ``[batch]``, given the layer of every exit."""
        layers = torch.as_tensor(exit_layer_numbers, dtype=torch.long, device=self.exit_index.device)
        return layers[self.exit_index]
