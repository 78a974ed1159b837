"""The exit-every section states each path's speed-up over plain HF and every-k over every layer, as recorded."""

from benchmarks.render_exit_every import exit_every_section


def test_section_states_both_paths_and_their_ratio():
    result = {
        "backbone": "smollm2-135m",
        "num_layers": 30,
        "exit_layers": {"every_layer": list(range(1, 31)), "every_3": list(range(3, 31, 3))},
        "rows": 64,
        "max_length": 64,
        "repeats": 5,
        "speedup_over_plain": {
            "every_layer": {"median": 0.9, "low": 0.85, "high": 0.95},
            "every_3": {"median": 0.985, "low": 0.97, "high": 1.0},
        },
        "every_k_over_every_layer": {"median": 1.0944, "low": 1.05, "high": 1.12},
        "machine": {"threads": 1, "date": "2026-12-02"},
    }
    text = "\n".join(exit_every_section([result]))
    assert "### smollm2-135m (30 layers)" in text
    assert "--backbone smollm2-135m --every 3 --rows 64 --max-length 64 --repeats 5" in text
    assert "| every layer (30 exits) | 0.900x [0.850-0.950] |" in text
    assert "| every 3 (10 exits) | 0.985x [0.970-1.000] |" in text
    assert "every 3 over every layer: 1.094x [1.050-1.120]." in text
    assert exit_every_section([]) == []
