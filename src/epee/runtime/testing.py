"""A model and its inputs for :func:`epee.policies.testing.check_dynamic`: the runtime against simulation.

The policy checks live below the runtime and cannot import it; this runner hands them the two
things they compare, the model's cached all-exit logits and the early-exit loop on a slice of rows::

    from epee.policies.testing import check_policy
    from epee.runtime.testing import ModelRunner
    check_policy(MyPolicy, dynamic=ModelRunner(model, encoded_inputs))
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from epee.models import MultiExitModel
from epee.policies.base import ExitPolicy
from epee.policies.exit_result import ExitResult
from epee.runtime.dynamic import early_exit_forward


class ModelRunner:
    """``model`` on the rows of ``inputs`` (encoded tensors with the batch on dim 0)."""

    def __init__(self, model: MultiExitModel, inputs: Mapping[str, torch.Tensor]) -> None:
        self.model = model.eval()
        self.inputs = dict(inputs)
        self.multi_label = model.config.multi_label
        self._all_exit_logits: torch.Tensor | None = None

    def all_exit_logits(self) -> torch.Tensor:
        """Every exit's logits ``[exits, rows, labels]``, computed once with every layer and exit."""
        if self._all_exit_logits is None:
            with torch.inference_mode():
                self._all_exit_logits = self.model(self.inputs)
        return self._all_exit_logits

    def early_exit(self, policy: ExitPolicy, rows: slice) -> ExitResult:
        """The runtime's early-exit loop under ``policy`` on ``rows`` of the inputs, as one batch."""
        return early_exit_forward(self.model, {key: value[rows] for key, value in self.inputs.items()}, policy)
