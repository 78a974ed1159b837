"""Schema fuzzing of ``epee serve`` with schemathesis: every generated request must get a status below 500.

    python -m benchmarks.serve_fuzz [--max-examples 50] [--seed 1]

Serves a tiny random checkpoint (the routes, not the model, are under test) with small limits so
the fuzzer reaches them, runs ``schemathesis run`` over the OpenAPI schema with the
``not_a_server_error`` check, and counts the statuses in the server's own access log as a second,
independent witness. Writes ``benchmarks/results/serve/fuzz.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from importlib.metadata import version
from pathlib import Path

import torch

from epee.serve.testing import running_server
from tests.helpers import tiny_bert_model

RESULT = Path(__file__).resolve().parent / "results" / "serve" / "fuzz.json"
LIMITS = ["--max-texts-per-request", "16", "--max-chars-per-text", "2000", "--max-body-bytes", "65536"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=50, help="Cases per operation and phase.")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    schemathesis = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        torch.manual_seed(0)
        tiny_bert_model(labels=("negative", "neutral", "positive"), layers=4).save_pretrained(scratch / "tiny")
        with running_server(scratch / "tiny", scratch / "server.log", LIMITS) as server:
            command = [
                schemathesis, "run", server.url + "/openapi.json", "--checks", "not_a_server_error",
                "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", "1", "--no-color",
                "--report", "json", "--report-json-path", str(scratch / "report.json"),
            ]  # fmt: skip
            run = subprocess.run(command, capture_output=True, text=True)
        report = json.loads((scratch / "report.json").read_text())
        statuses = Counter(re.findall(r"epee\.serve\.access: .* status=(\d+) ", (scratch / "server.log").read_text()))
    summary = {
        "schemathesis": version("schemathesis"),
        "seed": args.seed,
        "max_examples": args.max_examples,
        "operations_tested": report["operations"]["tested"],
        "cases_generated": report["test_cases"]["generated"],
        "cases_with_failures": report["test_cases"]["with_failures"],
        "schemathesis_exit_code": run.returncode,
        "logged_statuses": dict(sorted(statuses.items())),
        "logged_requests": sum(statuses.values()),
        "responses_5xx": sum(count for status, count in statuses.items() if int(status) >= 500),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    if run.returncode != 0 or summary["responses_5xx"]:
        print(run.stdout[-5000:], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
