"""Does the risk rule keep its promise? Many random calibration/test splits of real all-exit logits.

    python -m benchmarks.risk_logits runs/risk/ddi runs/risk/chemprot ... --output-dir runs/risk/logits
    python -m benchmarks.risk_simulation runs/risk/logits --repeats 500 --epsilon 0.05 --delta 0.1

For each cached dataset (``benchmarks.risk_logits``), dev and test rows (both unseen in training) are
pooled; each repeat draws a random half to calibrate on and keeps the other half as test. Three rules
choose a setting on the calibration half, and the chosen setting's risk is measured on the test half:

- ``risk`` (``epee calibrate --rule risk``): Learn-then-Test, certified risk <= epsilon w.p. >= 1 - delta;
- ``plug-in``: the fastest setting whose calibration-half risk is <= epsilon, with no certificate;
- ``fastest_within``: today's default rule, the fastest setting within epsilon *points of the metric*.

A violation is a test-half risk above epsilon. The risk rule promises a violation frequency <= delta;
with R repeats, the frequency's standard error is sqrt(delta (1 - delta) / R), and the target is met
when the frequency is <= delta + 2 SE. Results go to ``benchmarks/results/risk/simulation.json``; the
BENCHMARKS.md section is rendered from it (``python -m benchmarks.render``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from epee.calibrate.risk import control_risk, example_risks
from epee.calibrate.sweep import calibrate
from epee.errors import EpeeError
from epee.policies import ExitTables, fast_exit_index, make_policy
from epee.runtime.exit_logits import predictions_from_logits
from epee.runtime.speed import layer_speedup
from epee.tasks.metrics import SIMPLE_METRICS, micro_f1_excluding

logger = logging.getLogger("benchmarks.risk_simulation")
RESULTS = Path(__file__).resolve().parent / "results" / "risk" / "simulation.json"
RULES = ("risk", "plug-in", "fastest_within")


@dataclass(frozen=True)
class Cached:
    """One dataset's pooled dev + test rows: logits ``[exits, rows, labels]`` and labels."""

    name: str
    logits: torch.Tensor
    labels: np.ndarray
    exit_layers: list[int]
    num_layers: int
    multi_label: bool
    metric_name: str
    negative: int

    @classmethod
    def load(cls, path: Path) -> Cached:
        stored = np.load(path)
        logits = np.concatenate([stored["dev_logits"], stored["test_logits"]], axis=1)
        labels = np.concatenate([stored["dev_labels"], stored["test_labels"]], axis=0)
        return cls(
            name=path.stem,
            logits=torch.as_tensor(logits),
            labels=labels,
            exit_layers=[int(layer) for layer in stored["exit_layers"]],
            num_layers=int(stored["num_layers"]),
            multi_label=bool(stored["multi_label"]),
            metric_name=str(stored["metric"]),
            negative=int(stored["negative"]),
        )

    def metric(self, predictions: np.ndarray, labels: np.ndarray) -> float:
        if self.metric_name == "micro_f1_excluding_negative":
            return micro_f1_excluding(predictions, labels, self.negative)
        return SIMPLE_METRICS[self.metric_name](predictions, labels)


class Half:
    """The cached rows of one half, with each setting's per-example risk and speed-up computed on demand."""

    def __init__(self, cached: Cached, rows: np.ndarray, risk: str):
        self.cached, self.rows, self.risk = cached, rows, risk
        self.logits, self.labels = cached.logits[:, rows], cached.labels[rows]
        self.predictions = predictions_from_logits(self.logits, cached.multi_label)
        self.tables = ExitTables(self.logits, cached.multi_label)

    def measure(self, policy: str, params: dict) -> tuple[float, float]:
        """(mean risk, layer speed-up) of one setting on these rows."""
        chosen = fast_exit_index(make_policy(policy, **params), self.tables).cpu().numpy()
        early = self.predictions[chosen, np.arange(len(self.rows))]
        risks = example_risks(self.risk, early, self.predictions[-1], self.labels)
        exit_layers = np.asarray(self.cached.exit_layers)[chosen]
        return float(risks.mean()), layer_speedup(exit_layers, self.cached.num_layers)


def choose(cached: Cached, calibration: Half, rule: str, *, epsilon: float, delta: float, seed: int):
    """(policy, params, certified) that ``rule`` picks on the calibration half."""
    last = {"exit_index": len(cached.exit_layers) - 1}
    settings = {"exit_layer_numbers": cached.exit_layers, "num_layers": cached.num_layers}
    if rule == "risk":
        labels = calibration.labels if calibration.risk == "error_gap" else None
        control = control_risk(
            calibration.logits,
            labels,
            **settings,
            multi_label=cached.multi_label,
            risk=calibration.risk,
            epsilon=epsilon,
            delta=delta,
            seed=seed,
        )
        return control.policy, control.params, control.certificate.certified
    result = calibrate(
        calibration.logits, calibration.labels, **settings, multi_label=cached.multi_label, metric=cached.metric
    )
    if rule == "fastest_within":
        try:
            point = result.fastest_within(epsilon)
        except EpeeError:  # every setting degenerate: the CLI refuses; here, full depth
            return "budget", last, False
        return point.policy, point.params, False
    # plug-in: the fastest setting whose risk on the calibration half is at most epsilon
    measured = [(calibration.measure(point.policy, point.params), point) for point in result.points]
    eligible = [(speedup, -index, point) for index, ((risk, speedup), point) in enumerate(measured) if risk <= epsilon]
    if not eligible:
        return "budget", last, False
    point = max(eligible, key=lambda item: item[:2])[2]
    return point.policy, point.params, False


def simulate(cached: Cached, *, risk: str, epsilon: float, delta: float, repeats: int, seed: int) -> dict:
    """Every rule on ``repeats`` random halves of ``cached``: violation frequency, mean test risk and speed-up."""
    rng = np.random.default_rng(seed)
    num_rows = cached.logits.shape[1]
    outcomes = {rule: {"violations": 0, "risk": [], "speedup": [], "certified": 0} for rule in RULES}
    started = time.perf_counter()
    for repeat in range(repeats):
        order = rng.permutation(num_rows)
        calibration = Half(cached, np.sort(order[: num_rows // 2]), risk)
        test = Half(cached, np.sort(order[num_rows // 2 :]), risk)
        for rule in RULES:
            policy, params, certified = choose(cached, calibration, rule, epsilon=epsilon, delta=delta, seed=repeat)
            test_risk, speedup = test.measure(policy, params)
            outcome = outcomes[rule]
            outcome["violations"] += test_risk > epsilon
            outcome["risk"].append(test_risk)
            outcome["speedup"].append(speedup)
            outcome["certified"] += certified
        if repeat % 50 == 49:
            logger.info("%s: %d/%d splits, %.0f s", cached.name, repeat + 1, repeats, time.perf_counter() - started)
    standard_error = math.sqrt(delta * (1 - delta) / repeats)
    rules = {}
    for rule, outcome in outcomes.items():
        frequency = outcome["violations"] / repeats
        rules[rule] = {
            "violation_frequency": frequency,
            "meets_target": frequency <= delta + 2 * standard_error if rule == "risk" else None,
            "mean_test_risk": float(np.mean(outcome["risk"])),
            "p90_test_risk": float(np.quantile(outcome["risk"], 0.9)),
            "mean_layer_speedup": float(np.mean(outcome["speedup"])),
            "certified_share": outcome["certified"] / repeats if rule == "risk" else None,
        }
    predictions = predictions_from_logits(cached.logits, cached.multi_label)
    per_exit = [float(cached.metric(exit_predictions, cached.labels)) for exit_predictions in predictions]
    return {
        "dataset": cached.name,
        "rows": num_rows,
        "calibration_rows": num_rows // 2,
        "multi_label": cached.multi_label,
        "metric": cached.metric_name,
        "per_exit_metric": per_exit,
        "standard_error": standard_error,
        "rules": rules,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logits_dir", type=Path, help="folder of <dataset>.npz from benchmarks.risk_logits")
    parser.add_argument("--risk", default="consistency", choices=("consistency", "error_gap"))
    parser.add_argument("--epsilon", type=float, default=0.05)
    parser.add_argument("--delta", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    datasets = [
        simulate(
            Cached.load(path),
            risk=arguments.risk,
            epsilon=arguments.epsilon,
            delta=arguments.delta,
            repeats=arguments.repeats,
            seed=arguments.seed,
        )
        for path in sorted(arguments.logits_dir.glob("*.npz"))
    ]
    settings = {key: getattr(arguments, key) for key in ("risk", "epsilon", "delta", "repeats", "seed")}
    command = (
        f"python -m benchmarks.risk_simulation {arguments.logits_dir} --risk {arguments.risk} --epsilon "
        f"{arguments.epsilon:g} --delta {arguments.delta:g} --repeats {arguments.repeats} --seed {arguments.seed}"
    )
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps({"settings": settings, "command": command, "datasets": datasets}, indent=1))
    logger.info("wrote %s", arguments.output)


if __name__ == "__main__":
    main()
