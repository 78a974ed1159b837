"""A backbone trained from scratch gets a few hundred optimizer steps, however few the images."""

import pytest

from epee.train.settings import SCRATCH_MIN_STEPS, scratch_epochs


def test_epochs_grow_as_the_training_set_shrinks():
    assert SCRATCH_MIN_STEPS == 300
    assert scratch_epochs(500, 32) == 19  # 16 steps an epoch: 304 steps
    assert scratch_epochs(4708, 32) == 3  # 148 steps an epoch: the minimum three epochs already give 444
    assert scratch_epochs(64, 32) == 150
    with pytest.raises(ValueError, match="positive sizes, got 0 examples at batch 32"):
        scratch_epochs(0, 32)
