"""The segment loop other engines run equals the layer loop a PyTorch model runs: same exits, same logits."""

import pytest
import torch
from transformers import AutoModel

from epee.models import MultiExitModel
from epee.policies import make_policy
from epee.runtime.dynamic import early_exit_forward, segment_forward
from epee.runtime.engine import TorchEngine
from tests.tiny_configs import CONFIGS


@pytest.mark.parametrize("model_type", ["bert", "llama"])
def test_torch_engine_segments_equal_the_layer_loop(model_type):
    torch.manual_seed(0)
    model = MultiExitModel.from_backbone(AutoModel.from_config(CONFIGS[model_type]()), label_names=["a", "b", "c"])
    with torch.no_grad():
        for parameter in model.heads.parameters():
            parameter.mul_(20)
    model.eval()
    input_ids = torch.randint(3, 99, (6, 9), generator=torch.Generator().manual_seed(1))
    attention_mask = torch.ones_like(input_ids)
    for row, length in enumerate([9, 5, 7, 2, 9, 3]):
        attention_mask[row, length:] = 0
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    with torch.inference_mode():
        confidence = model(inputs)[0].softmax(-1).amax(-1)
    policy = make_policy("maxprob", threshold=float(confidence.median()) + 1e-6)
    expected = early_exit_forward(model, inputs, policy)
    actual = segment_forward(TorchEngine(model), inputs, policy)
    assert len(set(expected.exit_index.tolist())) > 1
    assert actual.exit_index.tolist() == expected.exit_index.tolist()
    torch.testing.assert_close(actual.logits, expected.logits, atol=1e-5, rtol=0)
