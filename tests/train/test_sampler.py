"""Length-bucketed training batches: every row once, little padding, the same batches for the same seed."""

import numpy as np

from epee.train.sampler import training_batches


def _padding(batches, lengths):
    return sum(int(lengths[rows].max()) * len(rows) - int(lengths[rows].sum()) for rows in batches)


def test_bucketed_batches_cover_each_row_once_and_pad_less():
    lengths = np.random.default_rng(0).integers(5, 128, size=1000)
    bucketed = training_batches(lengths, 16, seed=7, chunk_batches=10)
    plain = training_batches(lengths, 16, seed=7, bucketed=False)
    for batches in (bucketed, plain):
        assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
        assert max(len(rows) for rows in batches) == 16
    assert _padding(bucketed, lengths) < _padding(plain, lengths) / 5


def test_batches_depend_only_on_the_seed():
    lengths = np.arange(100) % 17
    first, again = training_batches(lengths, 8, seed=1), training_batches(lengths, 8, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other = training_batches(lengths, 8, seed=2)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_each_chunk_is_sorted_by_length():
    lengths = np.random.default_rng(1).integers(1, 50, size=64)
    batches = training_batches(lengths, 4, seed=0, chunk_batches=16)  # one chunk: all 64 rows
    spans = sorted((lengths[rows].min(), lengths[rows].max()) for rows in batches)
    assert all(high <= next_low for (_, high), (next_low, _) in zip(spans, spans[1:], strict=False))
