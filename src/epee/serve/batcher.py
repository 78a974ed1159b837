"""Cross-request dynamic batching: a bounded row queue and one worker thread that runs the model.

Requests put their rows on the queue and wait on a future. The worker takes the oldest request,
waits at most ``max_wait`` from its arrival for more rows that can share its batch (same exit
policy, same single-text or pair form), up to ``max_batch_size`` rows, then runs them and hands
every request its own rows back. :class:`DynamicBatcher` runs a batch in one call of the runtime's
early-exit ``predict``; :class:`~epee.serve.layer_batcher.LayerwiseBatcher` keeps admitting rows at
layer boundaries. The queue is bounded in rows: a request that would overflow it is refused (the
route answers 503), so a traffic burst cannot grow memory and latency without limit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import NamedTuple

from epee.policies import ExitPolicy
from epee.runtime import Predictions

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue has no room for the request's rows."""


class Draining(Exception):
    """The service is shutting down and accepts no new rows."""


class BatchKey(NamedTuple):
    """Rows may share a batch only when they run under the same policy and in the same text form."""

    policy_kind: str  # "calibrated", "full_depth" or "custom": a bounded label for metrics
    policy_id: str  # the policy's parameters as JSON
    pairs: bool


@dataclass
class Job:
    key: BatchKey
    policy: ExitPolicy
    texts: Sequence[str]
    pairs: Sequence[str] | None
    future: Future | asyncio.Future = field(default_factory=Future)
    enqueued: float = field(default_factory=time.perf_counter)

    @property
    def rows(self) -> int:
        return len(self.texts)


Outcome = Predictions | BaseException


def settle(jobs: Sequence[Job], outcomes: Sequence[Outcome]) -> None:
    """Give each job its rows' predictions, or the error that failed them, from the worker thread.

    Futures of an event loop are settled in one callback per loop: a batch wakes the loop once, not
    once per request (each wake-up writes to the loop's pipe and hands the interpreter lock back and
    forth while the worker still has rows to hand out). A request that went away (its future was
    cancelled) is skipped.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Outcome]]] = {}
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(job.future, asyncio.Future):
            by_loop.setdefault(job.future.get_loop(), []).append((job.future, outcome))
        else:
            _set(job.future, outcome)
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_set_all, pairs)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _set_all(pairs: list[tuple[asyncio.Future, Outcome]]) -> None:
    for future, outcome in pairs:
        _set(future, outcome)


def _set(future: Future | asyncio.Future, outcome: Outcome) -> None:
    try:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except (asyncio.InvalidStateError, concurrent.futures.InvalidStateError):
        pass  # cancelled: the request went away while its rows ran


RunBatch = Callable[[ExitPolicy, list[str], list[str] | None], Predictions]
"""Runs one batch of rows under one policy; the service passes the runtime's ``predict``."""

BatchObserver = Callable[[BatchKey, list[int], list[float], float, Predictions], None]
"""Told of finished rows: key, rows of each batch run since the last call, seconds each job waited in
the queue, inference seconds, the finished rows' predictions."""


class RowQueue:
    """The bounded queue and the worker thread; subclasses say how the worker runs the jobs it takes."""

    def __init__(
        self,
        *,
        max_batch_size: int,
        max_wait_seconds: float,
        max_queue_rows: int,
        observe: BatchObserver | None = None,
    ) -> None:
        self.max_batch_size = max_batch_size
        self.max_wait_seconds = max_wait_seconds
        self.max_queue_rows = max_queue_rows
        self._observe = observe
        self._pending: list[Job] = []
        self._queued_rows = 0
        self._closing = False
        self._condition = threading.Condition()
        self._worker = threading.Thread(target=self._work, name="epee-batcher", daemon=True)

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    @property
    def accepting(self) -> bool:
        return self._worker.is_alive() and not self._closing

    def start(self) -> None:
        self._worker.start()

    def submit(
        self,
        key: BatchKey,
        policy: ExitPolicy,
        texts: Sequence[str],
        pairs: Sequence[str] | None = None,
        future: Future | asyncio.Future | None = None,
    ) -> Future | asyncio.Future:
        """Queue one request's rows; ``future`` (by default a new thread-safe one) resolves to their
        :class:`Predictions`, in order. A caller on an event loop passes one of its loop's futures."""
        job = Job(key, policy, texts, pairs, Future() if future is None else future)
        with self._condition:
            if self._closing:
                raise Draining()
            if self._queued_rows + job.rows > self.max_queue_rows:
                raise QueueFull()
            self._pending.append(job)
            self._queued_rows += job.rows
            if len(self._pending) == 1 or self._rows_for(job.key) >= self.max_batch_size:
                # Wake the worker only when it may act: the queue was empty (it sleeps until a job
                # comes), or a batch is full (it stops waiting). Waking it on every request would
                # take the core from the event loop that is still reading the batch's other requests.
                self._condition.notify()
        return job.future

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting rows, finish every queued one, then stop the worker."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        if self._worker.is_alive():
            self._worker.join(timeout)

    def _work(self) -> None:
        while True:
            jobs = self._next_batch()
            if jobs is None:
                return
            self._run(jobs)

    def _next_batch(self) -> list[Job] | None:
        with self._condition:
            while not self._pending:
                if self._closing:
                    return None
                self._condition.wait()
            key = self._pending[0].key
            deadline = self._pending[0].enqueued + self.max_wait_seconds
            while not self._closing and self._rows_for(key) < self.max_batch_size:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            jobs, rows = [], 0
            for job in self._pending:
                if job.key == key and (not jobs or rows + job.rows <= self.max_batch_size):
                    jobs.append(job)
                    rows += job.rows
            chosen = {id(job) for job in jobs}
            self._pending = [job for job in self._pending if id(job) not in chosen]
            self._queued_rows -= rows
            return jobs

    def _rows_for(self, key: BatchKey) -> int:
        return sum(job.rows for job in self._pending if job.key == key)

    def _take(self, key: BatchKey, room: int) -> list[Job]:
        """Without waiting, the oldest queued jobs of ``key`` that fit in ``room`` rows; none while an older
        job of another key waits, so a stream of one policy cannot starve the others."""
        with self._condition:
            jobs, rows = [], 0
            for job in self._pending:
                if job.key != key:
                    break
                if rows + job.rows > room:
                    break
                jobs.append(job)
                rows += job.rows
            if jobs:
                self._pending = self._pending[len(jobs) :]
                self._queued_rows -= rows
            return jobs

    def _run(self, jobs: list[Job]) -> None:
        raise NotImplementedError


class DynamicBatcher(RowQueue):
    """Runs each batch it takes in one call of ``run_batch`` (the runtime's ``predict``)."""

    def __init__(self, run_batch: RunBatch, **settings) -> None:
        super().__init__(**settings)
        self._run_batch = run_batch

    def _run(self, jobs: list[Job]) -> None:
        started = time.perf_counter()
        texts = [text for job in jobs for text in job.texts]
        pairs = [pair for job in jobs for pair in job.pairs] if jobs[0].key.pairs else None
        try:
            predictions = self._run_batch(jobs[0].policy, texts, pairs)
        except Exception as error:  # every waiting request must hear of it
            logger.error("A batch of %d rows failed with %s.", len(texts), type(error).__name__)
            settle(jobs, [error] * len(jobs))
            return
        seconds = time.perf_counter() - started
        outcomes, start = [], 0
        for job in jobs:
            rows = slice(start, start + job.rows)
            start += job.rows
            outcomes.append(
                Predictions(
                    predictions.logits[rows],
                    predictions.exit_layer[rows],
                    predictions.label_names,
                    predictions.multi_label,
                    predictions.num_layers,
                )
            )
        settle(jobs, outcomes)
        if self._observe is not None:
            self._observe(jobs[0].key, [len(texts)], [started - job.enqueued for job in jobs], seconds, predictions)
