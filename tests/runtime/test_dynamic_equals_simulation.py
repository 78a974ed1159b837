"""Dynamic early-exit inference == offline simulation over cached logits, for every family and policy.

The runtime drops finished rows from the batch (hidden states, masks, position bias, rotary
tables, policy state); simulation sees every exit of every row. They must agree exactly on exit
layers and predictions, and on logits to float tolerance, at batch sizes 1, 7 and 32.
"""

import pytest
import torch
from transformers import AutoModel

from epee.models import MultiExitModel
from epee.policies import POLICIES
from epee.policies.testing import check_dynamic
from epee.runtime.testing import ModelRunner
from tests.tiny_configs import CONFIGS

ROWS = 32


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
    runner = ModelRunner(model, _inputs(model.backbone.config))
    exits_seen = set()
    for policy in POLICIES.values():
        if policy.deployable:  # each at the point of its grid that spreads these rows over the most exits
            exits_seen |= check_dynamic(policy, runner, batch_sizes=(1, 7, ROWS))
    assert exits_seen == set(range(len(model.exit_layers))), "the points must make rows leave at every exit"
