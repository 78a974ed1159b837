"""Dynamic early-exit inference == offline simulation over cached logits, for every family and policy.

The runtime drops finished rows from the batch (hidden states, masks, position bias, rotary
tables, policy state); simulation sees every exit of every row. They must agree exactly on exit
layers and predictions, and on logits to float tolerance, at batch sizes 1, 7 and 32.
"""

import pytest
import torch
from transformers import AutoModel

from epee.models import MultiExitModel
from epee.policies import DEPLOYABLE_POLICIES, make_policy, simulate
from epee.runtime import early_exit_forward
from tests.tiny_configs import CONFIGS

ROWS = 32
NUM_EXITS = 3
POLICY_SETTINGS = [
    ("entropy", {"tau": 0.5}),
    ("maxprob", {"threshold": 0.8}),
    ("margin", {"threshold": 0.5}),
    ("patience", {"patience": 1}),
    ("pcee", {"tau": 0.6, "patience": 2}),
    ("epee", {"tau": 0.3, "patience": 1}),
    ("fpabee", {"tau": 0.3, "patience": 1, "divergence": "js"}),
    ("fpabee", {"tau": 0.5, "patience": 1, "divergence": "kl"}),
    ("beem", {"alpha": 0.9, "weights": "cost", "num_exits": NUM_EXITS}),
    ("budget", {"exit_index": 1}),
]


def test_every_deployable_policy_is_covered():
    assert {name for name, _ in POLICY_SETTINGS} == set(DEPLOYABLE_POLICIES)


def _model(model_type: str, multi_label: bool) -> MultiExitModel:
    torch.manual_seed(0)
    backbone = AutoModel.from_config(CONFIGS[model_type]()).eval()
    with torch.no_grad():
        for parameter in backbone.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    model = MultiExitModel.from_backbone(
        backbone, label_names=["a", "b", "c", "d"], task="multi_label" if multi_label else "single_label"
    ).eval()
    with torch.no_grad():  # confident, varied exits: random heads are otherwise near uniform
        for classifier in model.heads.classifiers:
            classifier.weight.mul_(60.0)
    return model


def _inputs(config) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    if config.model_type == "vit":
        return {
            "pixel_values": torch.randn(
                ROWS, config.num_channels, config.image_size, config.image_size, generator=generator
            )
        }
    lengths = torch.randint(2, 13, (ROWS,), generator=generator)
    input_ids = torch.randint(3, config.vocab_size, (ROWS, 12), generator=generator)
    attention_mask = (torch.arange(12) < lengths[:, None]).long()
    input_ids[attention_mask == 0] = config.pad_token_id or 0
    return {"input_ids": input_ids, "attention_mask": attention_mask}


CASES = [(model_type, False) for model_type in sorted(CONFIGS)] + [("bert", True), ("gpt2", True)]


@pytest.mark.parametrize(
    ("model_type", "multi_label"), CASES, ids=[f"{m}-{'multi' if ml else 'single'}" for m, ml in CASES]
)
def test_dynamic_inference_equals_simulation(model_type, multi_label):
    model = _model(model_type, multi_label)
    inputs = _inputs(model.backbone.config)
    with torch.no_grad():
        cached = model(inputs)  # [exits, rows, labels]
    exits_seen = set()
    for name, params in POLICY_SETTINGS:
        policy = make_policy(name, **params)
        expected = simulate(policy, cached, multi_label=multi_label)
        for batch_size in (1, 7, 32):
            for start in range(0, ROWS, batch_size):
                rows = slice(start, start + batch_size)
                output = early_exit_forward(model, {key: value[rows] for key, value in inputs.items()}, policy)
                assert torch.equal(output.exit_index, expected.exit_index[rows]), (name, params, batch_size)
                torch.testing.assert_close(output.logits, expected.logits[rows], atol=1e-5, rtol=1e-5)
                assert torch.equal(output.exit_layer, torch.tensor(model.exit_layers)[output.exit_index])
        exits_seen.update(expected.exit_index.tolist())
    assert exits_seen == {0, 1, 2}, "the settings must make rows leave at every exit"
