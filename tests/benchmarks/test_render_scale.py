"""The "Scoring a large archive" section says whether the memory target was met and carries the driver estimate."""

import json

from benchmarks.render_scale import scale_section

CONTEXT = {"command": "python -m benchmarks.predict_scale", "machine": "x86_64, 2 cores", "load_average_at_end": 1.0}


def _results(tmp_path, difference, throughput=None):
    memory = {
        "result": {
            "10000": {"seconds": 30.0, "peak_rss_mib": 500.0},
            "500000": {"seconds": 1500.0, "peak_rss_mib": 500.0 * (1 + difference)},
            "difference": difference,
        },
        "date": "2026-12-02",
        **CONTEXT,
    }
    path = tmp_path / "predict_scale.json"
    path.write_text(json.dumps({"memory": memory, **({"throughput": throughput} if throughput else {})}))
    return path


def test_memory_target_met_and_missed(tmp_path):
    met = "\n".join(scale_section(_results(tmp_path, 0.025)))
    assert "| 500,000 | 512 | 1500 |" in met and "+2.5% (target < 15%: met)" in met
    assert "NOT met" in "\n".join(scale_section(_results(tmp_path, 0.2)))


def test_throughput_table_and_driver_bound(tmp_path):
    cell = {"rows_per_second_median": 300, "rows_per_second_range": [250, 320], "seconds": [13.3, 16.0]}
    throughput = {
        "result": {"engines": {"single process": cell}, "driver_write_rows_per_second": 50000},
        "date": "2026-12-02",
        **CONTEXT,
    }
    text = "\n".join(scale_section(_results(tmp_path, 0.0, throughput)))
    assert "| single process | 300 | 250-320 | 13.3, 16 |" in text
    assert "min(W x r, 50,000)" in text and "for r = 100, about 500" in text
    assert scale_section(tmp_path / "absent.json") == []
