"""Layer-wise scheduling (``epee serve --schedule layer``): rows join the running batch at layer boundaries.

With batch scheduling a request that arrives while a batch runs waits for all of it, and the batch
shrinks as its rows exit. Here the worker drives the runtime's :class:`~epee.runtime.dynamic.LayerLoop`
one layer at a time and, after every layer, admits queued rows of the same policy while fewer than
``max_batch_size`` rows are running; newcomers start at layer 0 with a fresh policy state, so every
row gets the answer it gets from ``epee predict``, whenever it arrived.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import torch

from epee.models import MultiExitModel
from epee.runtime.dynamic import LayerLoop
from epee.runtime.predict import encode_batch, predictions_from_exits
from epee.serve.batcher import Job, RowQueue, settle

logger = logging.getLogger(__name__)


@dataclass
class _Running:
    """A request whose rows are in the loop: what its rows have answered so far."""

    job: Job
    admitted: float
    logits: torch.Tensor
    exit_index: torch.Tensor
    left: int


class LayerwiseBatcher(RowQueue):
    def __init__(self, model: MultiExitModel, **settings) -> None:
        super().__init__(**settings)
        self._model = model
        self._next_id = 0

    def _run(self, jobs: list[Job]) -> None:
        loop = LayerLoop(self._model, jobs[0].policy)
        owners: dict[int, tuple[_Running, int]] = {}  # row id -> its request and its position there
        running: list[_Running] = []
        try:
            self._admit(loop, jobs, owners, running)
            batch_rows: list[int] = []
            started = time.perf_counter()
            while loop.active_rows:
                batch_rows.append(loop.next_rows)
                exited = loop.step()
                done = self._record(exited, owners) if exited is not None else []
                if done:
                    self._finish(done, batch_rows, time.perf_counter() - started)
                    running = [entry for entry in running if entry.left]
                    batch_rows, started = [], time.perf_counter()
                room = self.max_batch_size - loop.active_rows
                more = self._take(jobs[0].key, room) if room > 0 else []
                if more:
                    self._admit(loop, more, owners, running)
        except Exception as error:  # every request in the loop must hear of it
            logger.error("A layer-wise run failed with %s.", type(error).__name__)
            waiting = [entry.job for entry in running if entry.left]
            settle(waiting, [error] * len(waiting))

    def _admit(self, loop: LayerLoop, jobs: list[Job], owners: dict, running: list[_Running]) -> None:
        texts = [text for job in jobs for text in job.texts]
        pairs = [pair for job in jobs for pair in job.pairs] if jobs[0].key.pairs else None
        now, labels = time.perf_counter(), self._model.config.num_labels
        for job in jobs:
            entry = _Running(job, now, torch.empty(job.rows, labels), torch.empty(job.rows, dtype=torch.long), job.rows)
            running.append(entry)
            for position in range(job.rows):
                owners[self._next_id + position] = (entry, position)
            self._next_id += job.rows
        row_ids = torch.arange(self._next_id - len(texts), self._next_id)
        loop.admit(encode_batch(self._model, texts, pairs), row_ids)

    @staticmethod
    def _record(exited, owners: dict) -> list[_Running]:
        done = []
        logits = exited.logits.float().cpu()
        for row, row_id in enumerate(exited.row_ids.tolist()):
            entry, position = owners.pop(row_id)
            entry.logits[position] = logits[row]
            entry.exit_index[position] = exited.exit_index
            entry.left -= 1
            if entry.left == 0:
                done.append(entry)
        return done

    def _finish(self, done: list[_Running], batch_rows: list[int], seconds: float) -> None:
        settle(
            [entry.job for entry in done],
            [predictions_from_exits(self._model, entry.logits, entry.exit_index) for entry in done],
        )
        if self._observe is not None:
            result = predictions_from_exits(
                self._model,
                torch.cat([entry.logits for entry in done]),
                torch.cat([entry.exit_index for entry in done]),
            )
            waited = [entry.admitted - entry.job.enqueued for entry in done]
            self._observe(done[0].job.key, batch_rows, waited, seconds, result)
