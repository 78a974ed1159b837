"""The SmolLM2 section states each figure of its JSON: training, per-exit metrics, the dev choice and wall clock."""

from benchmarks.render_smollm2 import smollm2_section


def _result() -> dict:
    policy = {
        "policy": "maxprob",
        "params": {"threshold": 0.9},
        "dev_metric": 0.615,
        "test_metric": 0.6,
        "layer_speedup": 2.5,
        "flops_speedup": 2.4,
        "degenerate": None,
    }
    return {
        "dataset": "ddi",
        "metric": "micro_f1_excluding_negative",
        "sizes": {"train": 240, "dev": 240, "test": 240},
        "num_layers": 3,
        "max_length": 64,
        "peft": {"method": "lora", "r": 8},
        "training": {"steps": 15, "seconds": 612.4, "stopped_by": "time_budget"},
        "learned": True,
        "per_exit_test": [0.5, 0.55, 0.625],
        "oracle_test_layer_speedup": 2.75,
        "selected": policy,
        "policies": [policy],
        "wallclock": {
            "selected": {"median": 2.1, "low": 1.9, "high": 2.2},
            "all_layers": {"median": 0.98, "low": 0.95, "high": 1.01},
            "rows": 64,
            "repeats": 5,
        },
        "machine": {"threads": 1, "date": "2026-12-02"},
    }


def test_section_states_training_exits_choice_and_wall_clock():
    text = "\n".join(smollm2_section([_result()]))
    assert (
        "Train / dev / test 240 / 240 / 240, max length 64, LoRA r=8; training 15 steps in 612 s (stopped by "
        "time_budget) on 1 thread(s) of a shared machine, 2026-12-02. Learned: yes." in text
    )
    assert (
        "per exit (layers 1-3): 50.00, 55.00, 62.50. Oracle: 2.75x on test. Only 15 optimizer steps: the exits are"
        in text
    )
    assert "(last exit 62.50, best exit 62.50), so the speed-ups" in text
    assert "**maxprob** (threshold=0.9): dev 61.50, test 60.00 (-2.50 vs the last exit), layer speed-up 2.50x" in text
    assert "wall clock 2.10x [1.90-2.20] over the plain model; epee through all 3 layers 0.98x [0.95-1.01]" in text
    assert "| maxprob | threshold=0.9 | 61.50 | 60.00 | -2.50 | 2.50x | 2.40x | - |" in text
    assert "Degenerate on test" not in text


def test_a_model_that_did_not_learn_says_so():
    result = _result()
    result["learned"] = False
    result["selected"] = result["selected"] | {"degenerate": "one prediction for 100.0% of examples"}
    text = "\n".join(smollm2_section([result]))
    assert "Learned: no (every calibrated setting is degenerate on dev)." in text
    result["training"]["steps"] = 50
    assert "barely trained" not in "\n".join(smollm2_section([result]))
    assert "Degenerate on test: one prediction for 100.0% of examples." in text


def test_no_results_no_section():
    assert smollm2_section([]) == []
