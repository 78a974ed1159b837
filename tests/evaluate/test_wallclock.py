"""Issue 17, item 9: wall clock is timed in interleaved rounds in random order, reported as a median ratio with
its spread, and flagged when the machine was too busy for the figure to mean anything."""

import time

import pytest
import torch

from epee.evaluate.wallclock import BUSY, SpeedupEstimate, Timing, compare_wallclock, speedup_over, time_interleaved
from tests.helpers import tiny_bert_model


def test_paths_are_interleaved_in_a_fresh_random_order_each_round():
    order = []
    runs = {name: (lambda batch, name=name: order.append(name)) for name in ("plain", "a", "b", "c")}
    timings = time_interleaved(runs, [{"x": torch.zeros(2, 1)}], rounds=6, warmup=0, seed=3)
    rounds = [order[start : start + 4] for start in range(0, len(order), 4)]
    assert len(rounds) == 6 and all(sorted(names) == ["a", "b", "c", "plain"] for names in rounds)
    assert len({tuple(names) for names in rounds}) > 1, "every round ran the paths in the same order"
    assert any(names[0] != "plain" for names in rounds)  # plain is not always timed first
    assert all(len(timing.round_seconds) == 6 and timing.rows == 2 for timing in timings.values())


def test_a_burst_of_load_in_one_round_does_not_move_the_median():
    """Round 2 is slowed for every path alike (a busy machine); per-round ratios cancel it."""
    slow_round = {"count": 0}

    def path(cost):
        def run(batch):
            time.sleep(cost * (8 if 8 <= slow_round["count"] < 12 else 1))
            slow_round["count"] += 1

        return run

    timings = time_interleaved(
        {"plain": path(0.004), "half": path(0.002)}, [{"x": torch.zeros(1, 1)}] * 2, rounds=5, warmup=0
    )
    estimate = speedup_over(timings["plain"], timings["half"])
    assert estimate.median == pytest.approx(2.0, rel=0.35)


def test_speedup_is_the_median_of_per_round_ratios_with_its_range():
    plain = Timing(round_seconds=[1.0, 1.2, 3.0], batch_latencies=[1.0], rows=4)
    policy = Timing(round_seconds=[0.5, 0.4, 2.0], batch_latencies=[0.5], rows=4)
    estimate = speedup_over(plain, policy)
    assert (estimate.median, estimate.low, estimate.high) == pytest.approx((2.0, 1.5, 3.0))
    assert plain.seconds == 1.2


@pytest.mark.parametrize(
    ("estimate", "layer_speedup", "flag"),
    [
        (SpeedupEstimate(1.20, 1.15, 1.25), 1.23, None),  # below the layer speed-up, tight rounds
        (SpeedupEstimate(3.51, 3.40, 3.60), 1.23, BUSY),  # the issue's patience figure: impossible
        (SpeedupEstimate(1.36, 1.30, 1.40), 1.23, BUSY),  # more than 10% above the layer speed-up
        (SpeedupEstimate(1.35, 1.30, 1.40), 1.23, None),  # within 10%
        (SpeedupEstimate(1.00, 0.70, 1.10), 1.50, BUSY),  # rounds spread over 25% of the median
    ],
)
def test_busy_flag(estimate, layer_speedup, flag):
    assert estimate.flag(layer_speedup) == flag


def test_compare_wallclock_times_plain_all_layers_and_each_policy():
    from epee.policies import make_policy
    from epee.tasks.encoding import TextFeaturizer

    model = tiny_bert_model()
    featurizer = TextFeaturizer(model.tokenizer, 16)
    batch = featurizer.collate(featurizer.encode_texts(["aspirin helps", "no effect at all"]))
    timings = compare_wallclock(model, [batch], {"first": make_policy("budget", exit_layer=1)}, repeats=3)
    assert set(timings) == {"plain", "all_layers", "first"}
    assert all(len(timing.round_seconds) == 3 for timing in timings.values())
