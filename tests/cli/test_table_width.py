"""Issue 17, item 11: the terminal tables stay legible at 80 columns (no parameter cut to "thresho…"),
and a wall clock the machine was too busy to time is marked and explained."""

from rich.console import Console

from epee.cli.tables import policy_table
from epee.formatting import format_params_short
from epee.table import to_rich
from epee.workflow.policy_comparison import PolicyEvaluation

PARAMS = {
    "maxprob": {"threshold": 0.95},
    "entropy": {"tau": 0.125, "normalized": True},
    "fpabee": {"patience": 2, "tau": 0.05, "divergence": "js"},
    "beem": {"alpha": 1.75, "weights": "accuracy", "accuracies": [0.61, 0.7, 0.74, 0.79, 0.8, 0.81]},
    "budget": {"exit_layer": 4},
}


def _evaluation(policy, params, wallclock, flag=None):
    return PolicyEvaluation(
        policy=policy,
        params=params,
        dev_metric=0.8,
        dev_layer_speedup=1.5,
        test_metric=0.7912,
        layer_speedup=1.23,
        flops_speedup=1.2,
        wallclock_speedup=wallclock,
        exit_layers=[4, 5],
        wallclock_flag=flag,
    )


def _render(table) -> str:
    console = Console(width=80, record=True, color_system=None)
    console.print(to_rich(table))
    return console.export_text()


def test_policy_table_fits_80_columns_with_every_parameter_whole():
    evaluations = [_evaluation(name, params, 1.1) for name, params in PARAMS.items()]
    text = _render(policy_table("Test macro_f1: each policy at its dev setting", evaluations, 0.80, 2.4))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    words = set(text.split())
    for params in PARAMS.values():  # a long cell may wrap between parameters, never inside one
        assert set(format_params_short(params).split()) <= words, format_params_short(params)


def test_short_parameters():
    assert format_params_short(PARAMS["entropy"]) == "tau=0.125 norm"
    assert format_params_short(PARAMS["beem"]) == "alpha=1.75 w=accuracy acc=[6]"
    assert format_params_short({"normalized": False, "unset": None}) == "norm=no"


def test_busy_wallclock_is_marked_and_explained():
    evaluations = [_evaluation("patience", {"patience": 1}, 3.51, "machine too busy to time")]
    text = _render(policy_table("t", evaluations, 0.80))
    assert "3.51x!" in text and "machine too busy to time" in " ".join(text.split())
    assert "too busy" not in _render(policy_table("t", [_evaluation("patience", {"patience": 1}, 1.1)], 0.80))
