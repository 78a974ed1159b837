"""Speed figures on hand-computed numbers."""

import numpy as np
import pytest
import torch

from epee.runtime.speed import (
    exit_head_flops,
    flops_speedup,
    layer_speedup,
    mean_exit_layer,
    saved_fraction,
    transformer_layer_flops,
)


def test_layer_speedup_and_saved_fraction_are_different_figures():
    exit_layers = [1, 2, 3]
    assert mean_exit_layer(exit_layers, 6) == 2.0
    assert layer_speedup(exit_layers, 6) == 3.0
    assert saved_fraction(exit_layers, 6) == pytest.approx(2 / 3)
    assert layer_speedup(torch.tensor([6, 6]), 6) == 1.0 and saved_fraction(np.array([6, 6]), 6) == 0.0


@pytest.mark.parametrize("bad", [[0, 3], [3, 7]])
def test_exit_layers_are_one_based_layers_of_the_model(bad):
    with pytest.raises(ValueError, match=r"1-based backbone layer numbers in \[1, 6\]"):
        layer_speedup(bad, 6)


def test_flops_speedup_charges_every_head_on_the_way():
    # L = 4, a head after every layer: exiting at layer 2 costs 2 layers + 2 heads = 22; at 4: 44.
    # Baseline: 4 layers + 1 head = 41.
    assert flops_speedup([2, 4], 10.0, 1.0, [1, 2, 3, 4], 4) == pytest.approx(41 / 33)
    # heads only at layers 2 and 4: 21 and 42
    assert flops_speedup([2, 4], 10.0, 1.0, [2, 4], 4) == pytest.approx(41 / 31.5)
    # no early exit with a head at every layer is slower than the plain model
    assert flops_speedup([4], 10.0, 1.0, [1, 2, 3, 4], 4) == pytest.approx(41 / 44)


def test_flops_speedup_rejects_exits_where_there_is_no_head():
    with pytest.raises(ValueError, match=r"one of the exit head layers \[2, 4\]; got \[3\]"):
        flops_speedup([3, 4], 10.0, 1.0, [2, 4], 4)


def test_flop_formulas():
    # BERT-base at 128 tokens: the well-known 11.2 G multiply-adds for 12 layers
    per_layer = transformer_layer_flops(hidden_size=768, intermediate_size=3072, seq_len=128)
    assert per_layer == 2 * (4 * 128 * 768**2 + 2 * 128**2 * 768 + 2 * 128 * 768 * 3072)
    assert 12 * per_layer / 2 == pytest.approx(11.17e9, rel=1e-3)
    assert exit_head_flops(768, 2, pooler=True) == 2 * (768 * 768 + 768 * 2)
    assert exit_head_flops(768, 2, pooler=False) == 2 * 768 * 2
