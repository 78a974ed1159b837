"""BENCHMARKS.md: the comparisons it states follow from the JSON, and the committed file is what the JSON renders."""

import pytest

from benchmarks.render import BENCHMARKS_MD, RESULTS_DIR, beats, best_policy, load_results, render


def _policy(name, metric, speedup, dev_metric=None, dev_speedup=None):
    return {
        "policy": name,
        "params": {},
        "dev_metric": metric if dev_metric is None else dev_metric,
        "dev_layer_speedup": speedup if dev_speedup is None else dev_speedup,
        "test_metric": metric,
        "layer_speedup": speedup,
        "flops_speedup": speedup,
        "wallclock_speedup": None,
        "mean_exit_layer": 6 / speedup,
    }


def _result(policies, last=0.80):
    return {
        "dataset": "ddi",
        "task": "single_label",
        "inputs": "texts",
        "metric": "micro_f1",
        "sizes": {"train": 10, "dev": 5, "test": 5},
        "plan": {"max_length": 128, "truncation": "head", "learning_rate": 1e-3},
        "model": "tiny",
        "num_layers": 6,
        "training": {"steps": 3, "seconds": 1.0},
        "per_exit_dev": [0.5] * 5 + [last],
        "per_exit_test": [0.5] * 5 + [last],
        "oracle_dev_layer_speedup": 2.5,
        "oracle_test_layer_speedup": 2.4,
        "policies": policies,
        "wallclock": "batch 32",
        "machine": {"processor": "x86_64", "threads": 2, "platform": "linux", "versions": {"torch": "2"}, "date": "d"},
    }


def test_best_policy_is_the_fastest_within_one_point_of_the_last_exit():
    result = _result([_policy("epee", 0.795, 1.8), _policy("patience", 0.80, 1.5), _policy("entropy", 0.78, 3.0)])
    assert best_policy(result)["policy"] == "epee"  # entropy is faster but 2 points down
    assert beats(result, "epee", "patience")  # faster, both within the point
    assert beats(result, "epee", "entropy")  # entropy breaks the constraint
    assert not beats(result, "patience", "epee")
    assert not beats(result, "entropy", "patience")  # a policy outside the constraint never wins
    assert best_policy(_result([_policy("entropy", 0.70, 3.0)])) is None


def test_best_policy_is_chosen_on_dev_and_only_reported_on_test():
    """Issue 17, item 10: the choice uses dev figures with the CLI's rule; test metrics never take part."""
    result = _result(
        [
            # fastest within a point on test, but more than a point down on dev: not chosen
            _policy("entropy", metric=0.80, speedup=3.0, dev_metric=0.70, dev_speedup=3.0),
            # within a point on dev and the fastest there; on test 3 points down, which is reported, not used
            _policy("margin", metric=0.77, speedup=1.9, dev_metric=0.795, dev_speedup=2.0),
            _policy("patience", metric=0.80, speedup=1.5, dev_metric=0.80, dev_speedup=1.5),
            _policy("epee", metric=0.80, speedup=1.2, dev_metric=0.80, dev_speedup=1.2),
        ]
    )
    assert best_policy(result)["policy"] == "margin"
    assert "| ddi | 80.00 | - | margin | 77.00* | 1.90x |" in render([result])
    result["policies"][1]["dev_metric"] = 0.70  # now only patience qualifies on dev
    assert best_policy(result)["policy"] == "patience"


def test_rendered_summary_states_the_counts():
    result = _result([_policy("epee", 0.795, 1.8), _policy("patience", 0.80, 1.5), _policy("entropy", 0.78, 3.0)])
    markdown = render([result])
    assert "| ddi | 80.00 | - | epee | 79.50 | 1.80x | - | 2.40x | 1.80x | 1.50x | 3.00x* |" in markdown
    assert "beats PABEE's on 1 of 1 datasets (ddi) and DeeBERT's on 1 of 1 (ddi)" in markdown
    assert "within 1 point of the last exit on test on 1 of 1 text datasets (ddi)." in markdown
    assert render([result]) == markdown  # deterministic


def test_the_setup_table_names_depth_weights_other_than_asc():
    result = _result([_policy("epee", 0.795, 1.8), _policy("patience", 0.80, 1.5), _policy("entropy", 0.78, 3.0)])
    assert "3 steps, 1 s (lr 0.001) |" in render([result])  # asc: nothing said
    result["plan"]["depth_weights"] = "asc_last_half"
    assert "3 steps, 1 s (lr 0.001, depth weights asc_last_half) |" in render([result])


def test_a_recorded_dev_selection_is_read_as_recorded():
    """The suite records the point calibration stored (``selected_on_dev``, degenerate settings left out);
    the table shows that policy even where re-selecting from the per-policy rows would pick another."""
    result = _result([_policy("entropy", 0.80, 3.0), _policy("patience", 0.80, 1.5)])
    assert best_policy(result)["policy"] == "entropy"
    result["selected_on_dev"] = {"policy": "patience", "params": {}, "dev_metric": 0.8, "dev_layer_speedup": 1.5}
    assert best_policy(result)["policy"] == "patience"


def test_the_single_exit_baseline_is_shown_and_compared():
    policies = [_policy("epee", 0.795, 1.8), _policy("patience", 0.80, 1.5), _policy("entropy", 0.78, 3.0)]
    result = _result(policies, last=0.80)
    training = {"steps": 2, "seconds": 1.0, "stopped_by": "early_stopping"}
    result["single_exit_baseline"] = {"dev_metric": 0.83, "test_metric": 0.812, "training": training}
    result["training"]["stopped_by"] = "epochs"
    other = _result(policies, last=0.80) | {"dataset": "hoc"}
    other["single_exit_baseline"] = {"dev_metric": 0.83, "test_metric": 0.7950, "training": {}}
    carried = _result(policies, last=0.80) | {"dataset": "chemprot"}
    carried["single_exit_baseline"] = {"dev_metric": 0.5, "test_metric": 0.6, "training": {}, "carried_over_from": "x"}
    markdown = render([result, other, carried])
    assert "| ddi | 80.00 | 81.20 | epee |" in markdown
    assert (
        "Last exit against the single-exit fine-tune (test points): ddi -1.20; hoc +0.50; chemprot +20.00; "
        "within 1 point on 2 of 3." in markdown
    )
    assert (
        "Single-exit fine-tune (2 steps, ended by early_stopping; the multi-exit model 3 steps, ended by epochs): "
        "dev 83.00, test 81.20." in markdown
    )
    assert "Single-exit fine-tune: dev 83.00, test 79.50." in markdown  # a baseline that recorded no training
    assert "Single-exit fine-tune: dev 50.00, test 60.00. Carried over from x." in markdown


def test_another_backbone_gets_its_own_section_and_stays_out_of_the_default_counts():
    policies = [_policy("epee", 0.795, 1.8), _policy("patience", 0.80, 1.5), _policy("entropy", 0.78, 3.0)]
    default = _result(policies)
    mpnet = _result([_policy("epee", 0.70, 1.1), _policy("patience", 0.80, 1.0), _policy("entropy", 0.78, 3.0)])
    mpnet["plan"] = mpnet["plan"] | {"backbone": "mpnet"}
    markdown = render([default, mpnet])
    main, other = markdown.split("## Backbone mpnet")
    assert "on 1 of 1 text datasets (ddi)." in main  # the mpnet run is not counted with the default backbone's
    assert "### mpnet: summary (test)" in other and "### ddi (mpnet)" in other
    assert "| ddi | 80.00 | - | patience | 80.00 | 1.00x |" in other
    assert "on 0 of 1 text datasets (none); not on ddi." in other


def test_committed_benchmarks_md_is_what_the_results_render():
    results = load_results(RESULTS_DIR)
    if not results:
        pytest.skip(f"no suite results in {RESULTS_DIR}")
    assert BENCHMARKS_MD.read_text() == render(results), "regenerate with: python -m benchmarks.render"
