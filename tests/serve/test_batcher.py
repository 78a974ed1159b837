"""The batchers in process: when a batch runs, and layer-wise scheduling answering what ``predict`` answers."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import torch

from epee.policies import make_policy
from epee.runtime import Predictions, predict
from epee.serve.batcher import BatchKey, DynamicBatcher
from epee.serve.layer_batcher import LayerwiseBatcher
from tests.runtime.test_layer_loop import TEXTS, _threshold
from tests.runtime.test_layer_loop import model as model  # noqa: F401  (the module fixture)

KEY = BatchKey("calibrated", "{}", False)


def _zeros(policy, texts, pairs) -> Predictions:
    return Predictions(torch.zeros(len(texts), 2), torch.ones(len(texts), dtype=torch.long), ["a", "b"], False, 1)


def test_a_full_batch_runs_at_once_and_a_partial_one_at_its_deadline():
    batches: list[int] = []
    observe = lambda key, batch_rows, waited, seconds, result: batches.extend(batch_rows)  # noqa: E731
    slow = DynamicBatcher(_zeros, max_batch_size=4, max_wait_seconds=600, max_queue_rows=64, observe=observe)
    slow.start()
    futures = [slow.submit(KEY, None, [f"text {row}"]) for row in range(4)]
    assert all(len(future.result(timeout=60).labels) == 1 for future in futures)  # not after the 600 s wait
    slow.close()
    quick = DynamicBatcher(_zeros, max_batch_size=4, max_wait_seconds=0.05, max_queue_rows=64, observe=observe)
    quick.start()
    futures = [quick.submit(KEY, None, [f"text {row}"]) for row in range(3)]
    assert all(len(future.result(timeout=60).labels) == 1 for future in futures)
    quick.close()
    assert batches[0] == 4 and sum(batches[1:]) == 3


def test_layer_schedule_answers_equal_predict_whatever_the_arrival_times(model):  # noqa: F811
    policy = make_policy("maxprob", threshold=_threshold(model))
    expected = predict(model, TEXTS, policy=policy)
    steps: list[int] = []
    observe = lambda key, batch_rows, waited, seconds, result: steps.extend(batch_rows)  # noqa: E731
    batcher = LayerwiseBatcher(model, max_batch_size=6, max_wait_seconds=0, max_queue_rows=64, observe=observe)
    batcher.start()
    futures = {}
    rng = random.Random(0)

    def client(rows: list[int]) -> None:
        for row in rows:
            time.sleep(rng.random() * 0.005)
            futures[row] = batcher.submit(KEY, policy, [TEXTS[row]])

    threads = [threading.Thread(target=client, args=(list(range(start, len(TEXTS), 4)),)) for start in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers = [futures[row].result(timeout=120) for row in range(len(TEXTS))]
    batcher.close()
    assert [answer.labels[0] for answer in answers] == expected.labels
    assert [int(answer.exit_layer[0]) for answer in answers] == expected.exit_layer.tolist()
    probabilities = torch.cat([answer.probabilities for answer in answers])
    torch.testing.assert_close(probabilities, expected.probabilities, atol=1e-5, rtol=0)
    assert 1 < max(steps) <= 6  # rows of several requests shared layer steps, never more than the batch size


def test_a_request_that_went_away_does_not_stop_the_worker():
    batcher = DynamicBatcher(_zeros, max_batch_size=4, max_wait_seconds=0.2, max_queue_rows=64)
    batcher.start()
    gone = batcher.submit(KEY, None, ["text 0"])
    waiting = batcher.submit(KEY, None, ["text 1"])
    assert gone.cancel()  # its client disconnected while the rows waited for their batch
    assert len(waiting.result(timeout=60).labels) == 1
    assert len(batcher.submit(KEY, None, ["text 2"]).result(timeout=60).labels) == 1  # the worker lives on
    batcher.close()


def test_event_loop_futures_are_settled_in_one_wake_up_per_batch():
    batcher = DynamicBatcher(_zeros, max_batch_size=4, max_wait_seconds=600, max_queue_rows=64)
    batcher.start()

    async def scenario() -> tuple[list[int], int]:
        loop = asyncio.get_running_loop()
        wake_ups = 0
        threadsafe = loop.call_soon_threadsafe

        def counted(*args):
            nonlocal wake_ups
            wake_ups += 1
            return threadsafe(*args)

        loop.call_soon_threadsafe = counted
        futures = [loop.create_future() for _ in range(4)]
        for row, future in enumerate(futures):
            batcher.submit(KEY, None, [f"text {row}"], future=future)
            if row == 1:
                future.cancel()  # went away: skipped, the others still answered
        await asyncio.wait(futures, timeout=60)
        return [len(future.result().labels) for future in futures if not future.cancelled()], wake_ups

    rows, wake_ups = asyncio.run(scenario())
    batcher.close()
    assert rows == [1, 1, 1] and wake_ups == 1  # one batch of 4 rows, one wake-up of the loop for all of them
