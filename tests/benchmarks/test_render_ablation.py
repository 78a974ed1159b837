"""The ablation's winner is named from dev figures by the stated rule, and its table shows what the JSON holds."""

from benchmarks.ablation import ARMS, Setup, arm_settings
from benchmarks.render_ablation import (
    WINNER_RULE,
    ablation_section,
    full_split_section,
    overall_winner,
    qualifying_arms,
    winner,
)


def _arm(dev_last, dev_speedup, *, dev_shallow=0.5, test_last=None, test_speedup=None):
    test_last = dev_last if test_last is None else test_last
    return {
        "description": "an arm",
        "training": {"steps": 10, "stopped_by": "time_budget"},
        "per_exit_dev": [dev_shallow, dev_last],
        "per_exit_test": [dev_shallow, test_last],
        "selected_on_dev": {"policy": "maxprob", "params": {"threshold": 0.9}, "dev_layer_speedup": dev_speedup},
        "test_of_dev_choice": {"test_metric": test_last, "layer_speedup": test_speedup or dev_speedup},
    }


def _result(arms, dataset="ddi"):
    setup = {
        "sizes": {"train": 4000},
        "seed": 42,
        "batch_size": 32,
        "epochs": 2,
        "budget_minutes": 3.0,
        "budget_clock": "cpu",
        "model": "m",
    }
    return {"dataset": dataset, "metric": "micro_f1", "setup": setup, "sizes": {"train": 4000}, "arms": arms}


def test_the_winner_is_the_fastest_on_dev_among_arms_within_a_point_of_the_best_last_exit():
    arms = {
        "asc": _arm(0.800, 1.2),
        "uniform": _arm(0.792, 1.6),  # 0.8 points below the best: qualifies, and the fastest that does
        "distill": _arm(0.789, 3.0),  # 1.1 points below: its speed-up does not count
        "full_ft": _arm(0.800, 1.4),
    }
    assert qualifying_arms(arms) == ["asc", "uniform", "full_ft"]
    assert winner(arms) == "uniform"


def test_an_arm_that_did_not_learn_is_shown_but_never_chosen_nor_the_reference():
    arms = {"asc": _arm(0.60, 1.2), "two_stage": _arm(0.70, 6.0) | {"did_not_learn": "every setting is degenerate"}}
    assert qualifying_arms(arms) == ["asc"]  # the best last exit is asc's: two_stage's does not count
    assert winner(arms) == "asc"
    assert "70.0 (did not learn)" in "\n".join(ablation_section([_result(arms)]))


def test_test_figures_never_take_part_in_the_choice():
    arms = {
        "asc": _arm(0.80, 1.5, test_last=0.60, test_speedup=1.0),  # poor on test: reported, not used
        "uniform": _arm(0.78, 1.2, test_last=0.95, test_speedup=4.0),  # great on test, 2 points down on dev
    }
    assert winner(arms) == "asc"


def test_ties_go_to_the_higher_mean_dev_metric_then_to_the_arm_listed_first():
    assert winner({"asc": _arm(0.80, 1.5), "uniform": _arm(0.80, 1.5, dev_shallow=0.7)}) == "uniform"
    assert winner({"asc": _arm(0.80, 1.5), "uniform": _arm(0.80, 1.5)}) == "asc"
    assert winner({}) is None


def test_the_overall_winner_must_pass_on_every_dataset():
    ddi = _result({"asc": _arm(0.80, 1.2), "uniform": _arm(0.80, 2.0)})
    hoc = _result({"asc": _arm(0.80, 1.3), "uniform": _arm(0.70, 3.0)}, dataset="hoc")  # uniform 10 points down
    assert winner(ddi["arms"]) == "uniform"
    assert overall_winner([ddi, hoc]) == "asc"
    assert overall_winner([ddi]) == "uniform"
    assert overall_winner([]) is None


def test_the_section_states_the_rule_and_marks_the_winner_and_the_arms_out_of_the_point():
    text = "\n".join(ablation_section([_result({"asc": _arm(0.800, 1.2), "distill": _arm(0.750, 3.0)})]))
    assert WINNER_RULE in text
    assert "| **asc** |" in text and "| distill |" in text
    assert "75.0 (>1 pt below)" in text and "1.20x maxprob thr=0.9" in text
    assert "Dev winner: **asc**." in text
    assert ablation_section([]) == []


def test_without_an_overall_winner_the_section_says_the_default_recipe_stays():
    ddi = _result({"asc": _arm(0.80, 1.2), "uniform": _arm(0.70, 2.0)})
    hoc = _result({"asc": _arm(0.70, 1.3), "uniform": _arm(0.80, 3.0)}, dataset="hoc")  # each fails on one dataset
    text = "\n".join(ablation_section([ddi, hoc]))
    assert "**none**." in text and "the default recipe stays: asc." in text
    assert "stays" not in "\n".join(ablation_section([ddi, _result({"asc": _arm(0.80, 1.3)}, dataset="hoc")]))


def test_a_reference_arm_is_shown_and_measured_against_but_never_a_candidate():
    arms = {
        "asc": _arm(0.40, 1.5),
        "last_heavy": _arm(0.43, 1.2),
        "single_exit": _arm(0.45, 1.0) | {"reference": True},  # the best last exit, yet no recipe to adopt
    }
    assert qualifying_arms(arms) == ["last_heavy"]  # within a point of the best candidate, not of the reference
    assert winner(arms) == "last_heavy"
    text = "\n".join(full_split_section([_result(arms, dataset="chemprot")]))
    assert "45.0 (reference)" in text
    assert "--datasets chemprot --arms asc,last_heavy,single_exit --max-train 4000 --budget-minutes 3 " in text
    assert "Last exit on dev against single_exit (points): asc -5.0, last_heavy -2.0." in text
    assert "| single_exit | an arm | 10 (time_budget) | 50.0 45.0 | 47.5 | 45.0 (reference) | - |" in text


def test_the_section_names_the_kept_evaluation_rule_the_arms_ran_under():
    arms = {"asc": _arm(0.80, 1.2)}
    recorded_before_the_field = "\n".join(ablation_section([_result(arms)]))
    assert "the kept evaluation is the best by mean dev metric over exits." in recorded_before_the_field
    result = _result(arms)
    result["setup"]["select_by"] = "last"
    assert "the kept evaluation is the best by the last exit's dev metric." in "\n".join(ablation_section([result]))


def test_arms_recorded_before_the_selection_rule_was_pinned_continue_under_the_rule_they_ran_under():
    recorded = _result({})["setup"]
    assert "select_by" not in recorded
    assert Setup(**recorded) == Setup(sizes={"train": 4000}, budget_minutes=3.0, model="m", select_by="mean")
    assert arm_settings(Setup(**recorded), ARMS["asc"], "ddi").select_by == "mean"
