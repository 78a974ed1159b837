"""Training batches bucketed by length: shuffled chunks, sorted inside, so a batch pads to similar lengths.

A shuffled batch of clinical sentences pads every row to its longest one, and on a CPU every pad
token costs as much as a real one. Sorting the whole split would make batches of one length band
only, biasing each step; sorting within shuffled chunks of ``chunk_batches`` batches keeps the
randomness of the order and cuts most of the padding (the "bucket iterator" of torchtext and
fairseq). The batch order is shuffled again, so long and short batches interleave.
"""

from __future__ import annotations

import numpy as np

from epee.tasks.encoding import check_batch_size

CHUNK_BATCHES = 50
"""Batches per sorted chunk: large enough to find similar lengths, small enough to stay random."""


def training_batches(
    lengths: np.ndarray, batch_size: int, *, seed: int, bucketed: bool = True, chunk_batches: int = CHUNK_BATCHES
) -> list[np.ndarray]:
    """Row indices of one epoch's batches, the same for the same ``seed`` (so a resumed epoch replays them).

    Without ``bucketed`` the batches are plain consecutive slices of one random permutation.
    """
    check_batch_size(batch_size)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    if not bucketed:
        return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    chunk = batch_size * chunk_batches
    batches = []
    for start in range(0, len(order), chunk):
        rows = order[start : start + chunk]
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        batches.extend(rows[offset : offset + batch_size] for offset in range(0, len(rows), batch_size))
    return [batches[position] for position in rng.permutation(len(batches))]
