"""The contract every deployable policy keeps, checked on random logits for a few settings of each.

(1) a row decides the same in a batch as alone; (2) the runtime's streaming loop (start, step,
select with compaction, rows in any order) gives what simulate() gives; (3) every sample exits by
the last exit, and an exit never depends on exits after it.
"""

import json

import pytest
import torch

from epee.policies import (
    DEPLOYABLE_POLICIES,
    make_policy,
    policy_from_params,
    policy_params,
    simulate,
    step_with_fallback,
)

NUM_EXITS, BATCH, CLASSES = 6, 24, 4

SETTINGS = [
    ("entropy", {"tau": 0.5}),
    ("entropy", {"tau": 0.45, "normalized": False}),
    ("maxprob", {"threshold": 0.7}),
    ("margin", {"threshold": 0.4}),
    ("patience", {"patience": 1}),
    ("patience", {"patience": 2}),
    ("pcee", {"tau": 0.6, "patience": 2}),
    ("epee", {"tau": 0.3, "patience": 2}),
    ("fpabee", {"tau": 0.3, "patience": 1, "divergence": "kl"}),
    ("fpabee", {"tau": 0.2, "patience": 2, "divergence": "js"}),
    ("fpabee", {"tau": 0.5, "patience": 1, "divergence": "reverse_kl"}),
    ("fpabee", {"tau": 0.8, "patience": 1, "divergence": "symmetric_kl"}),
    ("beem", {"alpha": 0.7, "weights": "cost", "num_exits": NUM_EXITS}),
    ("beem", {"alpha": 0.9, "weights": "accuracy", "accuracies": [0.5, 0.6, 0.7, 0.8, 0.85, 0.9]}),
    ("beem", {"alpha": 1.4, "weights": [1.0] * NUM_EXITS}),
    ("budget", {"exit_index": 2}),
]
IDS = [f"{name}-{'-'.join(str(value) for value in params.values())}" for name, params in SETTINGS]


def random_logits(multi_label: bool) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7 + multi_label)
    return torch.randn(NUM_EXITS, BATCH, CLASSES, generator=generator) * 2.0  # [exits, batch, classes]


def test_every_deployable_policy_is_covered():
    assert {name for name, _ in SETTINGS} == set(DEPLOYABLE_POLICIES)


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize(("name", "params"), SETTINGS, ids=IDS)
def test_rows_decide_alike_in_a_batch_and_alone(name, params, multi_label):
    policy = make_policy(name, **params)
    layer_logits = random_logits(multi_label)
    batched = simulate(policy, layer_logits, multi_label=multi_label)
    for row in range(BATCH):
        alone = simulate(policy, layer_logits[:, row : row + 1], multi_label=multi_label)
        assert alone.exit_index.item() == batched.exit_index[row].item()
        assert torch.equal(alone.logits[0], batched.logits[row])


def stream(policy, layer_logits, multi_label):
    """A runtime-like loop: rows held in a shuffled order, finished rows dropped by index after every exit."""
    num_exits, batch_size, _ = layer_logits.shape
    running = torch.randperm(batch_size, generator=torch.Generator().manual_seed(0))
    exit_index = torch.full((batch_size,), -1)
    state = policy.start(batch_size, multi_label=multi_label)
    for index in range(num_exits):
        exits_now = step_with_fallback(policy, state, index, num_exits, layer_logits[index, running])
        exit_index[running[exits_now]] = index
        keep = torch.nonzero(~exits_now).squeeze(1)
        running, state = running[keep], state.select(keep)
    return exit_index


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize(("name", "params"), SETTINGS, ids=IDS)
def test_streaming_equals_simulate(name, params, multi_label):
    policy = make_policy(name, **params)
    layer_logits = random_logits(multi_label)
    simulated = simulate(policy, layer_logits, multi_label=multi_label).exit_index
    assert torch.equal(stream(policy, layer_logits, multi_label), simulated)


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize(("name", "params"), SETTINGS, ids=IDS)
def test_falls_back_to_the_last_exit_and_ignores_later_exits(name, params, multi_label):
    policy = make_policy(name, **params)
    layer_logits = random_logits(multi_label)
    full = simulate(policy, layer_logits, multi_label=multi_label).exit_index
    assert ((full >= 0) & (full <= NUM_EXITS - 1)).all()
    for num_exits in range(1, NUM_EXITS):
        truncated = simulate(policy, layer_logits[:num_exits], multi_label=multi_label).exit_index
        assert (truncated <= num_exits - 1).all()  # a model with fewer exits still ends every sample
        decided_earlier = full < num_exits - 1
        assert torch.equal(truncated[decided_earlier], full[decided_earlier])  # later exits did not matter


@pytest.mark.parametrize(("name", "params"), SETTINGS, ids=IDS)
def test_parameters_survive_a_json_round_trip(name, params):
    policy = make_policy(name, **params)
    stored = json.loads(json.dumps(policy_params(policy)))
    assert stored["name"] == name
    assert policy_from_params(stored) == policy


def test_select_by_mask_equals_select_by_index():
    policy = make_policy("epee", tau=0.3, patience=2)
    state = policy.start(5, multi_label=False)
    policy.step(state, 0, torch.randn(5, 3))
    mask = torch.tensor([True, False, True, True, False])
    by_mask, by_index = state.select(mask), state.select(torch.tensor([0, 2, 3]))
    assert by_mask.batch_size == by_index.batch_size == 3
    assert all(torch.equal(by_mask.tensors[key], by_index.tensors[key]) for key in state.tensors)


def test_step_rejects_logits_for_rows_that_already_left():
    policy = make_policy("patience", patience=2)
    state = policy.start(4, multi_label=False)
    with pytest.raises(ValueError, match=r"shape \[batch=4, classes\]"):
        policy.step(state, 0, torch.randn(3, 2))
