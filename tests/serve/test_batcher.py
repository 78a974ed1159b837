"""The batchers in process: when a batch runs, and layer-wise scheduling answering what ``predict`` answers."""

from __future__ import annotations

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
