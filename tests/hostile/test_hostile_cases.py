"""Hostile but ordinary use (issue 17): bad files, bad options, damaged checkpoints, interruptions.

Every case states the outcome it must have, ``error`` (exit code 2 / ``EpeeError``, one sentence, no
traceback) or ``ok`` (exit code 0 and a checked result), and the harness classifies what really
happened into one of five classes: clear error, OK, traceback, silent wrong (success with a wrong
result, or success where an error was due) and data loss (a file that existed before is changed or
gone). The last three must never happen. No message may echo a cell of the input: every input holds
``SECRET`` (a stand-in for patient text) and no output line may contain it.

    pytest tests/hostile -v   # the test ids start with the expected class
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from epee.cli.main import app
from epee.errors import EpeeError
from epee.models import MultiExitModel
from tests.helpers import tiny_bert_model

SECRET = "Jane-Roe-MRN-004471"
runner = CliRunner()


@dataclass
class World:
    """What a case works on: a scratch folder and shared, read-only checkpoints."""

    tmp: Path
    checkpoint: Path
    peft_checkpoint: Path
    tiny_backbone: Path
    protected: list[Path] = field(default_factory=list)

    def file(self, name: str, text: str | bytes, *, protect: bool = True) -> Path:
        path = self.tmp / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        if protect:
            self.protected.append(path)
        return path

    def copy_checkpoint(self, change: Callable[[Path], None], source: Path | None = None) -> Path:
        target = self.tmp / "ck"
        shutil.copytree(source or self.checkpoint, target)
        change(target)
        return target


@dataclass
class Case:
    name: str
    expect: str  # "error" or "ok"
    run: Callable[[World], object]  # argv (list) for the CLI, or a callable for the Python API
    says: str = ""  # a phrase the error must contain
    check: Callable[[World], bool] | None = None  # for "ok": is the result right?


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile-shared")
    tiny_bert_model(labels=("no", "yes")).save_pretrained(root / "checkpoint")
    base = tiny_bert_model(labels=("no", "yes"))
    base.backbone.save_pretrained(root / "tiny-backbone")
    base.tokenizer.save_pretrained(root / "tiny-backbone")
    peft = MultiExitModel.from_backbone(str(root / "tiny-backbone"), label_names=["no", "yes"])
    peft.add_peft()
    peft.save_pretrained(root / "peft-checkpoint")
    return {"checkpoint": root / "checkpoint", "peft": root / "peft-checkpoint", "backbone": root / "tiny-backbone"}


# ---- inputs ------------------------------------------------------------------------------------------------

GOOD_CSV = f"text\n{SECRET} took aspirin\nno effect at all\nworks well\n"
TRAIN_ROWS = [(f"{SECRET} helped", "yes"), ("no effect", "no"), ("works well", "yes"), ("did nothing", "no")] * 3


def _train_csv(rows=TRAIN_ROWS, header="text,label") -> str:
    return header + "\n" + "\n".join(f"{text},{label}" for text, label in rows) + "\n"


def _predict(w: World, data: Path, *extra: str, output: str = "out.jsonl", checkpoint: Path | None = None) -> list:
    return ["predict", str(checkpoint or w.checkpoint), str(data), "-o", str(w.tmp / output), *extra]


def _train(w: World, data: Path, *extra: str, output: Path | None = None) -> list:
    backbone = ["--backbone", str(w.tiny_backbone), "--peft", "none"]
    return ["train", "--data", str(data), "-o", str(output or w.tmp / "model"), *backbone, *extra]


def _rows(w: World, name: str = "out.jsonl") -> list[dict]:
    return [json.loads(line) for line in (w.tmp / name).read_text().splitlines()]


def _fifo(w: World) -> Path:
    path = w.tmp / "pipe.csv"
    os.mkfifo(path)
    return path


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    values = json.loads(path.read_text())
    change(values)
    path.write_text(json.dumps(values))


def _pickle_only(directory: Path) -> None:
    weights = directory / "backbone" / "model.safetensors"
    torch.save(load_file(weights), directory / "backbone" / "pytorch_model.bin")
    weights.unlink()


def _interrupted_write(w: World) -> None:
    from epee.runtime.table_io import write_atomically

    target = w.file("kept.jsonl", '{"row": 1}\n')

    def records():
        yield {"row": 1}
        raise KeyboardInterrupt

    try:
        write_atomically(target, records())
    except KeyboardInterrupt:
        pass


def _killed_write(w: World) -> None:
    from epee.runtime.table_io import write_atomically

    target = w.file("killed.jsonl", '{"row": 1}\n')
    ready_read, ready_write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            write_atomically(
                target, ({"row": row, "wait": os.write(ready_write, b"w") and time.sleep(0.01)} for row in range(10**6))
            )
        finally:
            os._exit(0)
    os.read(ready_read, 1)
    time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    os.close(ready_read)
    os.close(ready_write)


def _only(w: World, *names: str) -> bool:
    return sorted(path.name for path in w.tmp.iterdir()) == sorted(names)


def _api_predict(*args, **kwargs) -> Callable[[World], object]:
    def run(w: World):
        from epee.runtime import predict

        return predict(MultiExitModel.from_pretrained(w.checkpoint), *args, **kwargs)

    return run


def _api_table(text: str, suffix: str = ".jsonl", **options) -> Callable[[World], object]:
    def run(w: World):
        from epee.data.tabular import read_table

        return read_table(w.file("table" + suffix, text), text_column="text", label_column="label", **options)

    return run


def _jsonl(*records: dict) -> str:
    return "\n".join(json.dumps(record) for record in records) + "\n"


CASES = [
    # ---- input files -------------------------------------------------------------------------------------
    Case("missing-input", "error", lambda w: _predict(w, w.tmp / "absent.csv"), "does not exist"),
    Case("input-is-a-directory", "error", lambda w: _predict(w, w.tmp), "is a directory, not a file"),
    Case("input-is-a-fifo", "error", lambda w: _predict(w, _fifo(w)), "not a regular file"),
    Case("unknown-suffix", "error", lambda w: _predict(w, w.file("in.xlsx", "x")), "Cannot tell the format"),
    Case(
        "unterminated-quote",
        "error",
        lambda w: _predict(w, w.file("in.csv", f'text\nfine\n"{SECRET} never closed\nmore\nrows\n')),
        "Line 3 of",
    ),
    Case(
        "text-after-closing-quote",
        "error",
        lambda w: _predict(w, w.file("in.csv", f'text,id\nfine,1\n"{SECRET}"x,2\n')),
        "column 1 ('text')",
    ),
    Case(
        "duplicate-columns",
        "error",
        lambda w: _predict(w, w.file("in.csv", f"text,text\n{SECRET},b\n")),
        "two columns named 'text'",
    ),
    Case(
        "headerless-csv",
        "error",
        lambda w: _predict(w, w.file("in.csv", f"{SECRET} had a rash,yes\nno effect,no\n")),
        "is the header row missing?",
    ),
    Case(
        "latin-1-input",
        "error",
        lambda w: _predict(w, w.file("in.csv", f"text\nfine\n{SECRET} caf\xe9\n".encode("latin-1"))),
        "not valid UTF-8 text at line 3",
    ),
    Case(
        "latin-1-with-encoding",
        "ok",
        lambda w: _predict(
            w, w.file("in.csv", f"text\nfine\n{SECRET} caf\xe9\n".encode("latin-1")), "--encoding", "latin-1"
        ),
        check=lambda w: [row["row"] for row in _rows(w)] == [1, 2],
    ),
    Case(
        "unknown-encoding",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--encoding", "klingon"),
        "Unknown text encoding",
    ),
    Case("empty-file", "error", lambda w: _predict(w, w.file("in.csv", "")), "is empty"),
    Case("header-only", "error", lambda w: _predict(w, w.file("in.csv", "text\n")), "holds no rows"),
    Case(
        "ragged-row",
        "error",
        lambda w: _predict(w, w.file("in.csv", f"text,id\nfine,1\n{SECRET},2,extra\n")),
        "has 3 fields but the header has 2",
    ),
    Case(
        "number-as-text",
        "error",
        lambda w: _predict(w, w.file("in.jsonl", _jsonl({"text": "fine"}, {"text": 42}))),
        "holds a number in 'text', not text",
    ),
    Case(
        "list-as-text",
        "error",
        lambda w: _predict(w, w.file("in.jsonl", _jsonl({"text": [SECRET]}))),
        "holds a list in 'text'",
    ),
    Case(
        "null-text-pair-is-no-pair",
        "ok",
        lambda w: _predict(
            w,
            w.file("in.jsonl", _jsonl({"text": SECRET, "other": None}, {"text": SECRET, "other": ""})),
            "--text-pair-column",
            "other",
        ),
        check=lambda w: _same_probabilities_as_unpaired(w),
    ),
    Case(
        "duplicate-json-key",
        "error",
        lambda w: _predict(w, w.file("in.jsonl", '{"text": "a", "text": "b"}\n')),
        "names the key 'text' twice",
    ),
    Case(
        "json-line-not-object",
        "error",
        lambda w: _predict(w, w.file("in.jsonl", f'["{SECRET}"]\n')),
        "holds a list, not a JSON object",
    ),
    Case(
        "malformed-json-line",
        "error",
        lambda w: _predict(w, w.file("in.jsonl", f'{{"text": "{SECRET}\n')),
        "is not valid JSON",
    ),
    Case("empty-text-row", "error", lambda w: _predict(w, w.file("in.csv", 'text\nfine\n"  "\n')), "Row 2 (line 3)"),
    Case(
        "skip-bad-rows",
        "ok",
        lambda w: _predict(w, w.file("in.csv", 'text\nfine\n"  "\nalso fine\n'), "--skip-bad-rows"),
        check=lambda w: (
            [row["row"] for row in _rows(w)] == [1, 3]
            and [row["row"] for row in _rows(w, "out.jsonl.bad.jsonl")] == [2]
        ),
    ),
    Case(
        "utf-8-with-byte-order-mark",
        "ok",
        lambda w: _predict(w, w.file("in.csv", "\ufeff" + GOOD_CSV)),
        check=lambda w: len(_rows(w)) == 3,
    ),
    Case(
        "crlf-line-ends",
        "ok",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV.replace("\n", "\r\n"))),
        check=lambda w: len(_rows(w)) == 3,
    ),
    Case(
        "quoted-newline-in-a-cell",
        "ok",
        lambda w: _predict(w, w.file("in.csv", f'text\n"{SECRET}\nsecond line, with comma"\nplain\n')),
        check=lambda w: [row["row"] for row in _rows(w)] == [1, 2],
    ),
    Case("missing-text-column", "error", lambda w: _predict(w, w.file("in.csv", "note\nfine\n")), "no column 'text'"),
    Case(
        "missing-pair-column",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--text-pair-column", "other"),
        "no column 'other'",
    ),
    Case(
        "tsv-input",
        "ok",
        lambda w: _predict(w, w.file("in.tsv", "id\ttext\n1\tfine\n2\tgood\n")),
        check=lambda w: len(_rows(w)) == 2,
    ),
    Case(
        "json-array-input",
        "ok",
        lambda w: _predict(w, w.file("in.json", json.dumps([{"text": "a"}, {"text": "b"}]))),
        check=lambda w: len(_rows(w)) == 2,
    ),
    # ---- options -----------------------------------------------------------------------------------------
    Case(
        "batch-size-0",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--batch-size", "0"),
        "batch size must be a positive",
    ),
    Case(
        "batch-size-negative",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--batch-size", "-3"),
        "batch size must be a positive",
    ),
    Case(
        "output-exists",
        "error",
        lambda w: (w.file("out.jsonl", "earlier results\n"), _predict(w, w.file("in.csv", GOOD_CSV)))[1],
        "already exists; pass --overwrite",
    ),
    Case(
        "output-exists-with-overwrite",
        "ok",
        lambda w: (
            w.file("out.jsonl", "earlier\n", protect=False),
            _predict(w, w.file("in.csv", GOOD_CSV), "--overwrite"),
        )[1],
        check=lambda w: len(_rows(w)) == 3,
    ),
    Case(
        "output-is-the-input",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), output="in.csv"),
        "is the input file",
    ),
    Case(
        "output-is-the-input-with-overwrite",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--overwrite", output="in.csv"),
        "is the input file",
    ),
    Case(
        "output-suffix",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), output="out.txt"),
        "must end in one of",
    ),
    Case(
        "output-is-a-directory",
        "error",
        lambda w: ((w.tmp / "dir.jsonl").mkdir(), _predict(w, w.file("in.csv", GOOD_CSV), output="dir.jsonl"))[1],
        "is a directory",
    ),
    Case(
        "output-under-a-file",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), output="in.csv/out.jsonl"),
        "is a file, not a directory",
    ),
    Case(
        "unknown-policy", "error", lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--policy", "fastest"), "fastest"
    ),
    Case(
        "budget-past-the-last-exit",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--policy", "budget", "--param", "exit_layer=10"),
        "past this model's last exit",
    ),
    Case(
        "param-without-policy",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--param", "tau=1"),
        "--param needs --policy",
    ),
    Case(
        "malformed-param",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--policy", "budget", "--param", "exit_layer"),
        "NAME=VALUE",
    ),
    Case(
        "budget-first-exit",
        "ok",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--policy", "budget", "--param", "exit_layer=1"),
        check=lambda w: {row["exit_layer"] for row in _rows(w)} == {1},
    ),
    Case(
        "oracle-cannot-run-live",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--policy", "oracle"),
        "cannot run live",
    ),
    Case(
        "csv-output",
        "ok",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), output="out.csv"),
        check=lambda w: (w.tmp / "out.csv").read_text().splitlines()[0] == "row,label,probabilities,exit_layer",
    ),
    Case(
        "stale-bad-rows-file",
        "error",
        lambda w: (w.file("out.jsonl.bad.jsonl", '{"row": 9}\n'), _predict(w, w.file("in.csv", GOOD_CSV)))[1],
        "bad-rows file",
    ),
    Case(
        "stale-bad-rows-file-with-overwrite",
        "ok",
        lambda w: (
            w.file("out.jsonl.bad.jsonl", '{"row": 9}\n', protect=False),
            _predict(w, w.file("in.csv", GOOD_CSV), "--overwrite"),
        )[1],
        check=lambda w: not (w.tmp / "out.jsonl.bad.jsonl").exists() and len(_rows(w)) == 3,
    ),
    # ---- checkpoints -------------------------------------------------------------------------------------
    Case(
        "checkpoint-missing",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), checkpoint=w.tmp / "nowhere"),
        "does not exist",
    ),
    Case(
        "checkpoint-is-a-file",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), checkpoint=w.file("model.bin", b"\0")),
        "is a file",
    ),
    Case(
        "checkpoint-not-epee",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), checkpoint=w.tmp),
        "is not an epee checkpoint",
    ),
    Case(
        "checkpoint-zero-byte-heads",
        "error",
        lambda w: _predict(
            w,
            w.file("in.csv", GOOD_CSV),
            checkpoint=w.copy_checkpoint(lambda d: (d / "exit_heads.safetensors").write_bytes(b"")),
        ),
        "damaged or incomplete",
    ),
    Case(
        "checkpoint-truncated-backbone",
        "error",
        lambda w: _predict(
            w,
            w.file("in.csv", GOOD_CSV),
            checkpoint=w.copy_checkpoint(
                lambda d: (d / "backbone" / "model.safetensors").write_bytes(
                    (d / "backbone" / "model.safetensors").read_bytes()[:-100]
                )
            ),
        ),
        "damaged or incomplete",
    ),
    Case(
        "checkpoint-config-missing-key",
        "error",
        lambda w: _predict(
            w,
            w.file("in.csv", GOOD_CSV),
            checkpoint=w.copy_checkpoint(lambda d: _edit_json(d / "epee_config.json", lambda c: c.pop("task"))),
        ),
        "lacks the required settings ['task']",
    ),
    Case(
        "checkpoint-config-not-json",
        "error",
        lambda w: _predict(
            w,
            w.file("in.csv", GOOD_CSV),
            checkpoint=w.copy_checkpoint(lambda d: (d / "epee_config.json").write_text("{")),
        ),
        "is not valid JSON",
    ),
    Case(
        "checkpoint-label-names-a-string",
        "error",
        lambda w: _predict(
            w,
            w.file("in.csv", GOOD_CSV),
            checkpoint=w.copy_checkpoint(
                lambda d: _edit_json(d / "epee_config.json", lambda c: c.update(label_names="ny"))
            ),
        ),
        "label_names must be a list",
    ),
    Case(
        "checkpoint-head-size-mismatch",
        "error",
        lambda w: _predict(
            w,
            w.file("in.csv", GOOD_CSV),
            checkpoint=w.copy_checkpoint(
                lambda d: _edit_json(d / "epee_config.json", lambda c: c.update(label_names=["a", "b", "c"]))
            ),
        ),
        "expects (3",
    ),
    Case(
        "checkpoint-pickle-only-backbone",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), checkpoint=w.copy_checkpoint(_pickle_only)),
        "epee loads safetensors only",
    ),
    Case(
        "checkpoint-backbone-outside",
        "error",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), checkpoint=w.peft_checkpoint),
        "--allow-external-backbone",
    ),
    Case(
        "checkpoint-backbone-outside-allowed",
        "ok",
        lambda w: _predict(w, w.file("in.csv", GOOD_CSV), "--allow-external-backbone", checkpoint=w.peft_checkpoint),
        check=lambda w: len(_rows(w)) == 3,
    ),
    # ---- training data and options -----------------------------------------------------------------------
    Case(
        "train-nan-label",
        "error",
        lambda w: _train(w, w.file("t.csv", _train_csv([*TRAIN_ROWS, (SECRET, "NaN")]))),
        "missing value (NaN)",
    ),
    Case(
        "train-unterminated-quote",
        "error",
        lambda w: _train(w, w.file("t.csv", _train_csv(TRAIN_ROWS[:3]) + f'"{SECRET},yes\n' + _train_csv()[11:])),
        "is never closed",
    ),
    Case(
        "train-max-length-0",
        "error",
        lambda w: _train(w, w.file("t.csv", _train_csv()), "--max-length", "0"),
        "--max-length must be at least 1",
    ),
    Case(
        "train-max-length-too-long",
        "error",
        lambda w: _train(w, w.file("t.csv", _train_csv()), "--max-length", "100000"),
        "more tokens than",
    ),
    Case(
        "train-output-is-a-file",
        "error",
        lambda w: _train(w, w.file("t.csv", _train_csv()), output=w.file("model", "x")),
        "is a file",
    ),
    Case(
        "train-output-not-empty",
        "error",
        lambda w: (
            (w.tmp / "model").mkdir(),
            w.file("model/notes.txt", "mine"),
            _train(w, w.file("t.csv", _train_csv())),
        )[2],
        "not empty",
    ),
    Case(
        "train-max-examples-0",
        "error",
        lambda w: _train(w, w.file("t.csv", _train_csv()), "--max-examples", "0"),
        "positive number",
    ),
    Case(
        "train-test-is-train",
        "error",
        lambda w: _train(w, w.file("t.csv", _train_csv()), "--test", str(w.tmp / "t.csv")),
        "is also the train file",
    ),
    Case(
        "train-duplicate-columns",
        "error",
        lambda w: _train(w, w.file("t.csv", _train_csv(header="text,text"))),
        "two columns named",
    ),
    Case(
        "train-bool-label",
        "error",
        _api_table(_jsonl({"text": "a", "label": True}, {"text": "b", "label": "no"})),
        "holds a boolean as a label",
    ),
    Case("train-json-integer-labels", "ok", _api_table(_jsonl({"text": "a", "label": 0}, {"text": "b", "label": 1}))),
    Case("train-json-nan-label", "error", _api_table('{"text": "a", "label": NaN}\n'), "missing value (NaN)"),
    Case("max-examples-applies-to-own-data", "ok", lambda w: _own_data_subsample(w)),
    # ---- report ------------------------------------------------------------------------------------------
    Case(
        "report-output-is-a-file",
        "error",
        lambda w: ["report", str(w.checkpoint), "-o", str(w.file("report", "x")), "--data", str(w.tmp)],
        "is not a directory",
    ),
    Case(
        "report-output-not-a-report",
        "error",
        lambda w: (
            (w.tmp / "mine").mkdir(),
            w.file("mine/notes.txt", "keep"),
            ["report", str(w.checkpoint), "-o", str(w.tmp / "mine"), "--data", str(w.tmp)],
        )[2],
        "not a report epee wrote",
    ),
    # ---- interruptions -----------------------------------------------------------------------------------
    Case(
        "interrupted-write-keeps-the-old-file",
        "ok",
        _interrupted_write,
        check=lambda w: _only(w, "kept.jsonl") and (w.tmp / "kept.jsonl").read_text() == '{"row": 1}\n',
    ),
    Case(
        "sigkill-during-write-leaves-no-partial-file",
        "ok",
        _killed_write,
        check=lambda w: _only(w, "killed.jsonl") and (w.tmp / "killed.jsonl").read_text() == '{"row": 1}\n',
    ),
    # ---- the Python API ----------------------------------------------------------------------------------
    Case("api-empty-list", "error", _api_predict([]), "nothing to predict"),
    Case("api-empty-string", "error", _api_predict(["fine", ""]), "Text 1 is empty"),
    Case("api-one-string", "error", _api_predict("a single text"), "not one string"),
    Case("api-batch-size-0", "error", _api_predict(["fine"], batch_size=0), "batch size must be a positive"),
    Case("api-pairs-mismatch", "error", _api_predict(["a", "b"], ["only one"]), "one entry (or None) per text"),
    Case("api-non-string", "error", _api_predict(["fine", 3]), "Text 1 is a int"),
]


def _same_probabilities_as_unpaired(w: World) -> bool:
    """A null pair must read as no pair (as in training), not as the text "None": both rows agree."""
    rows = _rows(w)
    return rows[0]["probabilities"] == rows[1]["probabilities"] and len(rows) == 2


def _own_data_subsample(w: World):
    from epee.data.user_files import dataset_from_files

    data = w.file("own.csv", _train_csv(TRAIN_ROWS * 4))
    dataset = dataset_from_files(data, max_examples=6)
    if len(dataset.train) > 6 or len(dataset.dev) > 6:
        raise AssertionError(f"max_examples ignored: {len(dataset.train)} train rows")
    return dataset


def _classify(case: Case, world: World) -> tuple[str, str]:
    """(outcome class, what was said) for one case run."""
    said = ""
    before: dict[Path, bytes] = {}
    try:
        target = case.run(world)
        before = {path: path.read_bytes() for path in world.protected if path.is_file()}
        if isinstance(target, list) and all(isinstance(part, str) for part in target):  # a command line
            result = runner.invoke(app, target)
            said = result.output
            if result.exit_code not in (0, 2) or "Traceback" in said:
                return "traceback", said + repr(result.exception)
            failed = result.exit_code == 2
        else:
            failed = False
    except EpeeError as error:
        failed, said = True, str(error)
    except Exception as error:  # noqa: BLE001 - anything else is the bug this harness looks for
        return "traceback", repr(error)
    if SECRET in said:
        return "leaks-text", said
    for path, content in before.items():
        if not path.exists() or path.read_bytes() != content:
            return "data-loss", f"{path} changed"
    if failed:
        flat = " ".join(said.split())
        return ("clear-error" if case.says in flat and flat.count("Error:") <= 1 else "unclear-error"), said
    if case.expect == "error":
        return "silent-wrong", said
    return ("ok" if case.check is None or case.check(world) else "silent-wrong"), said


@pytest.mark.parametrize("case", CASES, ids=[f"{case.expect}-{case.name}" for case in CASES])
def test_hostile_case(case: Case, shared, tmp_path):
    world = World(tmp_path, shared["checkpoint"], shared["peft"], shared["backbone"])
    shared_files = {
        path: path.read_bytes() for folder in shared.values() for path in folder.rglob("*") if path.is_file()
    }
    outcome, said = _classify(case, world)
    if os.environ.get("HOSTILE_OUTCOMES"):  # tally for the issue note: HOSTILE_OUTCOMES=file pytest tests/hostile
        with open(os.environ["HOSTILE_OUTCOMES"], "a") as tally:
            tally.write(json.dumps({"case": case.name, "expected": case.expect, "outcome": outcome}) + "\n")
    assert outcome == ("clear-error" if case.expect == "error" else "ok"), f"{case.name}: {outcome}\n{said}"
    assert shared_files == {
        path: path.read_bytes() for folder in shared.values() for path in folder.rglob("*") if path.is_file()
    }, "a shared checkpoint was modified"


def test_there_are_at_least_sixty_cases():
    assert len(CASES) >= 60 and len({case.name for case in CASES}) == len(CASES)
