"""Issue 20, item 5: the budget policy takes the 1-based ``exit_layer`` users see everywhere; checkpoints that
stored the old 0-based ``exit_index`` still load, and mean the same exit."""

import json

import pytest

from epee.calibrate.results import PolicyPoint
from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.policies import make_policy, policy_from_params
from epee.runtime import predict
from tests.helpers import tiny_bert_model


def test_exit_layer_is_one_based():
    model = tiny_bert_model(layers=3)
    layers = predict(model, ["aspirin helps", "no effect"], policy=make_policy("budget", exit_layer=2)).exit_layer
    assert layers.tolist() == [2, 2]


def test_the_old_name_is_not_a_parameter_users_can_give():
    with pytest.raises(EpeeError, match=r"no parameter 'exit_index'; its parameters are \('exit_layer',\)"):
        make_policy("budget", exit_index=1)


def test_a_checkpoint_that_stored_exit_index_loads_as_the_same_exit(tmp_path):
    model = tiny_bert_model(layers=3)
    model.config.policy = {"name": "budget", "params": {"exit_layer": 1}}
    directory = model.save_pretrained(tmp_path / "old")
    sidecar = json.loads((directory / "policy.json").read_text())
    sidecar["policy"] = {"name": "budget", "params": {"exit_index": 1}}  # as epee wrote it before the rename
    (directory / "policy.json").write_text(json.dumps(sidecar))
    loaded = MultiExitModel.from_pretrained(directory)
    assert policy_from_params(loaded.config.policy) == make_policy("budget", exit_layer=2)
    assert predict(loaded, ["aspirin helps"]).exit_layer.tolist() == [2]


def test_a_stored_calibration_point_with_exit_index_is_read_in_todays_names():
    stored = {"policy": "budget", "params": {"exit_index": 0}, "metric": 0.5, "mean_exit_layer": 1.0}
    stored |= {"layer_speedup": 3.0, "saved_fraction": 2 / 3, "flops_speedup": 2.9, "exit_counts": [4, 0, 0]}
    point = PolicyPoint.from_dict(stored)
    assert point.params == {"exit_layer": 1} and point.make_policy() == make_policy("budget", exit_layer=1)
