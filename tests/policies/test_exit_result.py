import torch

from epee.policies import ExitResult, oracle_exits, simulate
from epee.policies.registry import make_policy


def test_exit_layers_maps_each_exit_index_to_its_backbone_layer():
    result = ExitResult(exit_index=torch.tensor([0, 2, 1, 2]), logits=torch.zeros(4, 2))
    assert result.exit_layers((2, 4, 6)).tolist() == [2, 6, 4, 6]


def test_simulation_and_oracle_return_the_one_result_type():
    layer_logits = torch.tensor([[[2.0, 0.0], [0.0, 0.1]], [[3.0, 0.0], [0.0, 3.0]]])  # [exits, batch, classes]
    simulated = simulate(make_policy("maxprob", threshold=0.8), layer_logits, multi_label=False)
    oracle = oracle_exits(layer_logits, multi_label=False)
    assert isinstance(simulated, ExitResult) and isinstance(oracle, ExitResult)
    assert simulated.exit_index.tolist() == [0, 1]
    assert torch.equal(simulated.logits, torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
    assert oracle.exit_index.tolist() == [0, 0]  # row 1 already predicts class 1 at exit 0
