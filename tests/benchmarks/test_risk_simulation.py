"""The risk simulation on hand-made logits: when early exits always agree, every rule takes the first exit and
nothing is violated; when the first exit disagrees on a fifth of rows, the certified rule never takes it."""

import numpy as np
import pytest
import torch

from benchmarks.risk_simulation import Cached, simulate


def _cached(first_exit_disagrees: float, rows: int = 400) -> Cached:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, rows)
    answers = np.stack([labels, labels, labels])  # [exits, rows]: the last exit is always right
    flip = rng.random(rows) < first_exit_disagrees
    answers[0, flip] = 1 - answers[0, flip]
    logits = torch.nn.functional.one_hot(torch.as_tensor(answers), 2).float() * 10.0
    return Cached("hand-made", logits, labels, [1, 2, 3], 3, False, "macro_f1", -1)


def test_agreeing_exits_give_the_first_exit_and_no_violation():
    result = simulate(_cached(0.0), risk="consistency", epsilon=0.05, delta=0.1, repeats=5, seed=0)
    for figures in result["rules"].values():
        assert figures["violation_frequency"] == 0.0 and figures["mean_layer_speedup"] == 3.0
    assert result["rules"]["risk"]["certified_share"] == 1.0 and result["rules"]["risk"]["meets_target"]
    assert result["calibration_rows"] == 200 and result["per_exit_metric"] == [1.0, 1.0, 1.0]


def test_a_first_exit_wrong_on_a_fifth_of_rows_is_never_certified():
    result = simulate(_cached(0.2), risk="consistency", epsilon=0.05, delta=0.1, repeats=5, seed=0)
    risk = result["rules"]["risk"]
    assert risk["violation_frequency"] == 0.0 and risk["mean_layer_speedup"] == 1.5  # the second exit
    # fastest_within at 5 points of macro-F1 takes the second exit too (the first loses ~20 points)
    assert result["rules"]["fastest_within"]["mean_layer_speedup"] == 1.5


def test_fast_metrics_equal_the_library_ones():
    from benchmarks.risk_simulation import fast_metric
    from epee.tasks.metrics import macro_f1, micro_f1_excluding, multilabel_micro_f1

    rng = np.random.default_rng(3)
    for _ in range(20):
        predictions, labels = rng.integers(0, 4, 50), rng.integers(0, 3, 50)
        assert fast_metric("macro_f1", -1, predictions, labels) == pytest.approx(macro_f1(predictions, labels))
        assert fast_metric("micro_f1_excluding_negative", 0, predictions, labels) == pytest.approx(
            micro_f1_excluding(predictions, labels, 0)
        )
        matrix, gold = rng.integers(0, 2, (30, 5)), rng.integers(0, 2, (30, 5))
        assert fast_metric("multilabel_micro_f1", -1, matrix, gold) == pytest.approx(multilabel_micro_f1(matrix, gold))
    assert fast_metric("micro_f1_excluding_negative", 0, np.zeros(5, int), np.zeros(5, int)) == 0.0


def test_the_benchmarks_section_reads_every_run_and_states_the_target(tmp_path):
    import json

    from benchmarks.render_risk import risk_section

    settings = {"risk": "consistency", "epsilon": 0.05, "delta": 0.1, "repeats": 5, "seed": 0}
    for name, disagreeing in (("agree", 0.0), ("fifth", 0.2)):
        result = simulate(_cached(disagreeing), risk="consistency", epsilon=0.05, delta=0.1, repeats=5, seed=0)
        result["dataset"] = name
        run = {
            "settings": settings,
            "command": f"python -m benchmarks.risk_simulation {name}.npz",
            "datasets": [result],
        }
        (tmp_path / f"{name}.json").write_text(json.dumps(run))
    text = "\n".join(risk_section(tmp_path))
    assert "`python -m benchmarks.risk_simulation agree.npz`, `python -m benchmarks.risk_simulation fifth.npz`" in text
    assert "| agree | risk (certified) | 0.0 |" in text and "| fifth | fastest_within (eps points) |" in text
    assert "**Target met**" in text and "delta + 2 SE = 36.8%" in text  # SE = sqrt(0.1 * 0.9 / 5) = 13.4 points
    assert risk_section(tmp_path / "missing") == []
