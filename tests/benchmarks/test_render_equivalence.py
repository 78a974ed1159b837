"""The npz-equivalence section shows both arms' per-exit balanced accuracy and says whether all metrics matched."""

from benchmarks.render_equivalence import equivalence_section


def _result(identical: bool) -> dict:
    user = {"balanced_accuracy": [0.6, 0.655, 0.5], "macro_f1": [0.5, 0.6, 0.4], "accuracy": [0.6, 0.7, 0.74]}
    registered = {**user, "balanced_accuracy": [0.6, 0.655 if identical else 0.7, 0.5]}
    return {
        "settings": {"max_examples": 500, "max_steps": 60, "seed": 0},
        "tables": {"registered": {"dev": registered, "test": user}, "user npz": {"dev": user, "test": user}},
        "identical": identical,
        "machine": {"date": "2026-12-02"},
    }


def test_section_lists_both_arms_per_exit_and_the_verdict():
    text = "\n".join(equivalence_section(_result(identical=True)))
    assert "--max-examples 500 --max-steps 60 --seed 0" in text
    assert "| 2 | 65.50 | 65.50 | 65.50 | 65.50 |" in text
    assert "| majority | 50.00 | 50.00 | 50.00 | 50.00 |" in text
    assert "identical on dev and test: yes." in text
    differing = "\n".join(equivalence_section(_result(identical=False)))
    assert "| 2 | 70.00 | 65.50 |" in differing and "identical on dev and test: **no**." in differing
    assert equivalence_section(None) == []
