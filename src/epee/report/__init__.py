"""Report: one self-contained directory (Markdown, HTML, figures, raw numbers) per calibrated model.

write_report(Path("runs/ddi/report"), title=..., calibration=result, selections=chosen,
             evaluations=on_test, per_exit_test_metric=test_per_exit, exit_layer_numbers=model.exit_layers,
             num_layers=model.num_layers, metric_name="micro-F1", facts={...}, explanation="...")
"""

from epee.report.writer import write_report

__all__ = ["write_report"]
