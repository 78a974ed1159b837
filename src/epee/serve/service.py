"""The model behind the routes: one checkpoint, its default policy, the batcher, the metrics.

Routes hand it texts and a policy choice and get :class:`~epee.runtime.Predictions` back; batching
runs the runtime's own early-exit ``predict``, so the service answers exactly what ``epee predict``
answers for the same rows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import torch

from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.policies import ExitPolicy, make_policy, policy_params, simulate
from epee.runtime import Predictions, predict
from epee.runtime.predict import resolve_policy
from epee.serve.batcher import BatchKey, Draining, DynamicBatcher, QueueFull
from epee.serve.errors import ServeError
from epee.serve.layer_batcher import LayerwiseBatcher
from epee.serve.metrics import ServeMetrics
from epee.serve.schemas import PolicyChoice
from epee.serve.settings import ServeSettings

RETRY_AFTER_SECONDS = "1"


class PredictionService:
    def __init__(self, model: MultiExitModel, settings: ServeSettings, model_name: str) -> None:
        if model.tokenizer is None:
            raise EpeeError("This checkpoint takes images; epee serve answers texts only.")
        if isinstance(model, MultiExitModel):
            model.merge_peft()
        self.model = model.eval()
        self.settings = settings
        self.model_name = model_name
        self.calibrated = model.config.policy is not None
        self.default_policy = resolve_policy(model, None)
        self.full_depth_policy = make_policy("budget", exit_layer=len(model.exit_layers))
        # The two choices nearly every request makes, keyed once rather than per request.
        self._full_depth = self._key("full_depth", self.full_depth_policy), self.full_depth_policy
        default_kind = "calibrated" if self.calibrated else "full_depth"
        self._default = self._key(default_kind, self.default_policy), self.default_policy
        queue_settings = {
            "max_batch_size": settings.max_batch_size,
            "max_wait_seconds": settings.max_wait_seconds,
            "max_queue_rows": settings.max_queue,
            "observe": self._observe_batch,
        }
        if settings.schedule == "layer":
            if not isinstance(model, MultiExitModel):
                raise EpeeError("--schedule layer runs the PyTorch engine's layer loop; use --schedule batch with it.")
            if not model.family.joins_states:
                raise EpeeError(
                    f"--schedule layer needs rows to join mid-depth, which {model.family.display_name} backbones "
                    "cannot; use --schedule batch."
                )
            self.batcher = LayerwiseBatcher(model, **queue_settings)
        else:
            self.batcher = DynamicBatcher(self._run_batch, **queue_settings)
        self.metrics = ServeMetrics(model.exit_layers, settings.max_batch_size, lambda: self.batcher.queued_rows)

    @property
    def label_names(self) -> list[str]:
        return list(self.model.config.label_names)

    @property
    def multi_label(self) -> bool:
        return self.model.config.multi_label

    def start(self) -> None:
        self.batcher.start()

    def close(self) -> None:
        self.batcher.close()

    def choose_policy(self, choice: PolicyChoice | None) -> tuple[BatchKey, ExitPolicy]:
        """The policy a request asked for, checked before it is queued (a bad one must not fail a batch)."""
        choice = choice or PolicyChoice()
        if choice.full_depth and choice.policy is not None:
            raise ServeError(422, "Give either full_depth or a policy, not both.", "validation")
        if choice.policy_params is not None and choice.policy is None:
            raise ServeError(422, "policy_params needs a policy name beside it.", "validation")
        if choice.full_depth:
            return self._full_depth
        if choice.policy is None:
            return self._default
        policy = self._custom_policy(choice.policy, choice.policy_params or {})
        return self._key("custom", policy), policy

    def _custom_policy(self, name: str, params: dict[str, Any]) -> ExitPolicy:
        try:
            policy = resolve_policy(self.model, make_policy(name, **params))
            # A dry run over every exit catches parameters that validate but cannot run (e.g. an exit
            # index beyond this model's exits) here, as a 422, instead of failing a shared batch.
            layer_logits = torch.zeros(len(self.model.exit_layers), 1, self.model.config.num_labels)
            simulate(policy, layer_logits, multi_label=self.multi_label)
        except Exception as error:  # any failure to build or run the policy is the request's fault
            message = str(error) or type(error).__name__
            raise ServeError(422, f"The policy {name!r} cannot run: {message}", "validation") from None
        return policy

    def _key(self, kind: str, policy: ExitPolicy, pairs: bool = False) -> BatchKey:
        return BatchKey(kind, json.dumps(policy_params(policy), sort_keys=True), pairs)

    async def predict(
        self, texts: Sequence[str], pairs: Sequence[str] | None, key: BatchKey, policy: ExitPolicy
    ) -> Predictions:
        """Queue the rows and wait for their batch; a full queue or a shutdown answers 503 with Retry-After."""
        if key.pairs != (pairs is not None):
            key = key._replace(pairs=pairs is not None)
        future = asyncio.get_running_loop().create_future()
        try:
            self.batcher.submit(key, policy, texts, pairs, future)
        except QueueFull:
            raise ServeError(
                503,
                f"The queue is full ({self.batcher.queued_rows} of {self.settings.max_queue} rows waiting); "
                f"retry after {RETRY_AFTER_SECONDS} s.",
                "overloaded",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            ) from None
        except Draining:
            raise ServeError(
                503, "The server is shutting down.", "unavailable", headers={"Retry-After": RETRY_AFTER_SECONDS}
            ) from None
        return await future

    def _run_batch(self, policy: ExitPolicy, texts: list[str], pairs: list[str] | None) -> Predictions:
        return predict(self.model, texts, pairs, policy=policy, batch_size=self.settings.max_batch_size)

    def _observe_batch(self, key: BatchKey, batch_rows: list[int], waited: list[float], seconds: float, result) -> None:
        self.metrics.observe_batch(key, batch_rows, waited, seconds, result)
