"""Does the risk rule keep its promise? Many random calibration/test splits of real all-exit logits.

    python -m benchmarks.risk_logits runs/risk/ddi runs/risk/chemprot ... --output-dir runs/risk/logits
    python -m benchmarks.risk_simulation runs/risk/logits --repeats 500 --epsilon 0.05 --delta 0.1

For each cached dataset (``benchmarks.risk_logits``), dev and test rows (both unseen in training) are
pooled; each repeat draws a random half to calibrate on and keeps the other half as test. Three rules
choose a setting on the calibration half, and the chosen setting's risk is measured on the test half:

- ``risk`` (``epee calibrate --rule risk``): Learn-then-Test, certified risk <= epsilon w.p. >= 1 - delta;
- ``plug-in``: the fastest setting whose calibration-half risk is <= epsilon, with no certificate;
- ``fastest_within``: today's default rule, the fastest setting within epsilon *points of the metric*
  (here without the degeneracy filter, which rarely binds within a few points of the last exit).

All three choose among every deployable policy except BEEM (see ``POLICIES``).

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
from epee.calibrate.sweep import default_grids, per_exit_error_rates
from epee.policies import DEPLOYABLE_POLICIES, ExitTables, fast_exit_index, make_policy, policy_params
from epee.runtime.exit_logits import predictions_from_logits
from epee.runtime.speed import layer_speedup

logger = logging.getLogger("benchmarks.risk_simulation")
RESULTS = Path(__file__).resolve().parent / "results" / "risk" / "simulation.json"
"""Default output; BENCHMARKS.md reads every ``*.json`` beside it (one run per dataset gives the same numbers:
each dataset's splits are drawn from its own generator seeded with ``--seed``)."""
RULES = ("risk", "plug-in", "fastest_within")
# Every deployable policy but BEEM: its grid is derived from the calibration data, so it changes with every
# split and its exits cannot be memoised, which made 500 splits hours long on a shared CPU.
POLICIES = tuple(name for name in DEPLOYABLE_POLICIES if name != "beem")


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
        return fast_metric(self.metric_name, self.negative, predictions, labels)


def fast_metric(name: str, negative: int, predictions: np.ndarray, labels: np.ndarray) -> float:
    """The row-level metric by counts in NumPy: equal to ``epee.tasks.metrics`` (a test pins it), 100x faster.

    scikit-learn's validation costs milliseconds a call, and the baselines score hundreds of settings per split.
    """
    if name == "multilabel_micro_f1":
        hits = int((predictions.astype(bool) & labels.astype(bool)).sum())
        total = int(predictions.astype(bool).sum() + labels.astype(bool).sum())
        return 0.0 if total == 0 else 2 * hits / total
    classes = np.union1d(predictions, labels)
    if name == "micro_f1_excluding_negative":
        positives = np.setdiff1d(classes, [negative])
        hits = int(((predictions == labels) & np.isin(labels, positives)).sum())
        total = int(np.isin(predictions, positives).sum() + np.isin(labels, positives).sum())
        return 0.0 if total == 0 else 2 * hits / total
    if name != "macro_f1":
        raise ValueError(f"no fast form of {name}")
    scores = []
    for label in classes:
        hits = int(((predictions == label) & (labels == label)).sum())
        scores.append(2 * hits / int((predictions == label).sum() + (labels == label).sum()))
    return float(np.mean(scores))


class Half:
    """The cached rows of one half; each setting's exits come from a memo over all rows (a policy decides
    each row from its own logits alone, so exits over all rows, sliced, equal exits over the half)."""

    def __init__(self, cached: Cached, rows: np.ndarray, risk: str, memo: dict):
        self.cached, self.rows, self.risk, self.memo = cached, rows, risk, memo
        self.logits, self.labels = cached.logits[:, rows], cached.labels[rows]
        self.predictions = predictions_from_logits(self.logits, cached.multi_label)

    def exits(self, policy: str, params: dict) -> np.ndarray:
        key = (policy, json.dumps(params, sort_keys=True))
        if key not in self.memo:
            tables = ExitTables(self.cached.logits, self.cached.multi_label)
            self.memo[key] = fast_exit_index(make_policy(policy, **params), tables).cpu().numpy()
        return self.memo[key][self.rows]

    def measure(self, policy: str, params: dict) -> tuple[float, float, float]:
        """(mean risk, layer speed-up, metric) of one setting on these rows."""
        chosen = self.exits(policy, params)
        early = self.predictions[chosen, np.arange(len(self.rows))]
        risks = example_risks(self.risk, early, self.predictions[-1], self.labels)
        exit_layers = np.asarray(self.cached.exit_layers)[chosen]
        metric = fast_metric(self.cached.metric_name, self.cached.negative, early, self.labels)
        return float(risks.mean()), layer_speedup(exit_layers, self.cached.num_layers), metric


def choose(cached: Cached, calibration: Half, *, epsilon: float, delta: float, seed: int) -> dict:
    """rule -> (policy, params, certified), each rule's pick on the calibration half."""
    last = {"exit_layer": len(cached.exit_layers)}
    labels = calibration.labels if calibration.risk == "error_gap" else None
    control = control_risk(
        calibration.logits,
        labels,
        exit_layer_numbers=cached.exit_layers,
        num_layers=cached.num_layers,
        multi_label=cached.multi_label,
        risk=calibration.risk,
        epsilon=epsilon,
        delta=delta,
        seed=seed,
        policies=POLICIES,
        exits=calibration.exits,
    )
    picks = {"risk": (control.policy, control.params, control.certificate.certified)}
    # The baselines see every policy's default grid built from the calibration half, as `epee calibrate` does.
    error_rates = per_exit_error_rates(calibration.logits, calibration.labels, multi_label=cached.multi_label)
    settings = [
        (name, policy_params(make_policy(name, **params))["params"])
        for name, grid in default_grids(POLICIES, error_rates).items()
        for params in grid
    ]
    measured = [(calibration.measure(*setting), setting) for setting in settings]
    reference = calibration.measure("budget", last)[2]
    plug_in = [
        (speedup, -index, setting) for index, ((risk, speedup, _), setting) in enumerate(measured) if risk <= epsilon
    ]
    within = [
        (speedup, metric, -index, setting)
        for index, ((_, speedup, metric), setting) in enumerate(measured)
        if metric >= reference - epsilon - 1e-12
    ]
    picks["plug-in"] = (*max(plug_in)[2], False) if plug_in else ("budget", last, False)
    picks["fastest_within"] = (*max(within)[3], False)  # the last exit's own point always qualifies
    return picks


def simulate(cached: Cached, *, risk: str, epsilon: float, delta: float, repeats: int, seed: int) -> dict:
    """Every rule on ``repeats`` random halves of ``cached``: violation frequency, mean test risk and speed-up."""
    rng = np.random.default_rng(seed)
    num_rows = cached.logits.shape[1]
    outcomes = {rule: {"violations": 0, "risk": [], "speedup": [], "certified": 0} for rule in RULES}
    started, memo = time.perf_counter(), {}
    for repeat in range(repeats):
        order = rng.permutation(num_rows)
        calibration = Half(cached, np.sort(order[: num_rows // 2]), risk, memo)
        test = Half(cached, np.sort(order[num_rows // 2 :]), risk, memo)
        picks = choose(cached, calibration, epsilon=epsilon, delta=delta, seed=repeat)
        for rule in RULES:
            policy, params, certified = picks[rule]
            test_risk, speedup, _ = test.measure(policy, params)
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


def _npz_files(paths: list[Path]) -> list[Path]:
    return [file for path in paths for file in (sorted(path.glob("*.npz")) if path.is_dir() else [path])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "logits", type=Path, nargs="+", help="folders of <dataset>.npz from benchmarks.risk_logits, or such files"
    )
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
        for path in _npz_files(arguments.logits)
    ]
    settings = {key: getattr(arguments, key) for key in ("risk", "epsilon", "delta", "repeats", "seed")}
    command = (
        f"python -m benchmarks.risk_simulation {' '.join(map(str, arguments.logits))} --risk {arguments.risk} "
        f"--epsilon {arguments.epsilon:g} --delta {arguments.delta:g} --repeats {arguments.repeats} "
        f"--seed {arguments.seed}"
    )
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps({"settings": settings, "command": command, "datasets": datasets}, indent=1))
    logger.info("wrote %s", arguments.output)


if __name__ == "__main__":
    main()
