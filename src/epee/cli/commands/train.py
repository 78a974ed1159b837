"""``epee train``: train a multi-exit model and write a checkpoint directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from epee.cli.data_options import DataOverrides, with_data_options
from epee.cli.errors import user_errors
from epee.cli.output import console
from epee.cli.tables import per_exit_table
from epee.defaults import DEFAULT_BACKBONE, SCRATCH_LEARNING_RATE, SCRATCH_VIT
from epee.errors import EpeeError
from epee.table import to_rich
from epee.train.precision import PRECISIONS
from epee.train.settings import (
    DEPTH_WEIGHTINGS,
    FINE_TUNING_EPOCHS,
    FULL_FINE_TUNING_LEARNING_RATE,
    PEFT_LEARNING_RATE,
    SCRATCH_MIN_STEPS,
    SELECTION,
    TrainingSettings,
)
from epee.workflow.fit import ModelSettings

TRAINING = TrainingSettings()
MODEL = ModelSettings()
_MODEL, _TRAINING = "Model", "Training"


@user_errors
@with_data_options(recorded=False)
def train(
    output: Annotated[Path, typer.Option("--output", "-o", help="Checkpoint directory to write.")],
    data_options: DataOverrides,
    backbone: Annotated[
        str | None,
        typer.Option(
            help=(
                f"Hugging Face name or path, or minilm / smollm2-135m (offline) [default: {DEFAULT_BACKBONE} for "
                f"texts, {SCRATCH_VIT} for images]."
            ),
            rich_help_panel=_MODEL,
        ),
    ] = MODEL.backbone,
    peft: Annotated[
        str | None,
        typer.Option(
            help="lora, ia3, or none for full training [default: lora; none for images].", rich_help_panel=_MODEL
        ),
    ] = MODEL.peft,
    max_length: Annotated[
        int, typer.Option(help="Maximum tokens per input.", rich_help_panel=_MODEL)
    ] = MODEL.max_length,
    truncation: Annotated[
        str, typer.Option(help="head, or head_tail for long notes.", rich_help_panel=_MODEL)
    ] = MODEL.truncation,
    first_exit_layer: Annotated[
        int, typer.Option(help="First layer that gets an exit (1 = all).", rich_help_panel=_MODEL)
    ] = MODEL.first_exit_layer,
    exit_every: Annotated[
        int,
        typer.Option(
            help="An exit every k layers: at k, 2k, ... (from --first-exit-layer on) and the last layer (1 = all).",
            rich_help_panel=_MODEL,
        ),
    ] = MODEL.exit_every,
    pooling: Annotated[
        str | None, typer.Option(help="cls or mean for encoders [default: the family's].", rich_help_panel=_MODEL)
    ] = MODEL.pooling,
    epochs: Annotated[
        int | None,
        typer.Option(
            help=f"Training epochs, per stage with --two-stage [default: {FINE_TUNING_EPOCHS}; from scratch, enough "
            f"for {SCRATCH_MIN_STEPS} steps].",
            rich_help_panel=_TRAINING,
        ),
    ] = TRAINING.epochs,
    batch_size: Annotated[
        int, typer.Option(help="Training batch size.", rich_help_panel=_TRAINING)
    ] = TRAINING.batch_size,
    learning_rate: Annotated[
        float | None,
        typer.Option(
            help=f"Backbone/adapter learning rate [default: {PEFT_LEARNING_RATE:g} PEFT, "
            f"{FULL_FINE_TUNING_LEARNING_RATE:g} full, {SCRATCH_LEARNING_RATE:g} from scratch].",
            rich_help_panel=_TRAINING,
        ),
    ] = TRAINING.learning_rate,
    head_learning_rate: Annotated[
        float, typer.Option(help="Learning rate of the exit heads.", rich_help_panel=_TRAINING)
    ] = TRAINING.head_learning_rate,
    depth_weights: Annotated[
        str,
        typer.Option(
            help="asc, asc_last_half (half the loss on the last exit), uniform, or comma-separated weights per exit.",
            rich_help_panel=_TRAINING,
        ),
    ] = str(TRAINING.depth_weights),
    class_weighting: Annotated[
        str, typer.Option(help="balanced or none.", rich_help_panel=_TRAINING)
    ] = TRAINING.class_weighting,
    distill_weight: Annotated[
        float, typer.Option(help="Weight of self-distillation from the last exit.", rich_help_panel=_TRAINING)
    ] = TRAINING.distill_weight,
    two_stage: Annotated[
        bool, typer.Option(help="Train backbone + last exit, then all exits.", rich_help_panel=_TRAINING)
    ] = TRAINING.two_stage,
    max_steps: Annotated[
        int | None,
        typer.Option(help="Stop after this many optimizer steps [default: no limit].", rich_help_panel=_TRAINING),
    ] = TRAINING.max_steps,
    time_budget_minutes: Annotated[
        float | None, typer.Option(help="Stop training after this long [default: no limit].", rich_help_panel=_TRAINING)
    ] = TRAINING.time_budget_minutes,
    gradient_accumulation_steps: Annotated[
        int, typer.Option(help="Batches per optimizer step.", rich_help_panel=_TRAINING)
    ] = TRAINING.gradient_accumulation_steps,
    precision: Annotated[
        str,
        typer.Option(
            help=f"{', '.join(PRECISIONS)}: auto trains in bf16 on a CPU with native bf16.", rich_help_panel=_TRAINING
        ),
    ] = TRAINING.precision,
    eval_every_steps: Annotated[
        int | None,
        typer.Option(
            help="Evaluate dev every this many steps too [default: after each epoch].", rich_help_panel=_TRAINING
        ),
    ] = TRAINING.eval_every_steps,
    patience: Annotated[
        int | None,
        typer.Option(
            help="Stop after this many evaluations without a better dev metric (last exit or mean over exits) "
            "[default: none, every epoch runs].",
            rich_help_panel=_TRAINING,
        ),
    ] = TRAINING.patience,
    select_by: Annotated[
        str,
        typer.Option(
            help=f"{', '.join(SELECTION)}: which dev evaluation's weights are kept; mean_near_best_last keeps the best "
            "mean over exits among evaluations within 1 point of the best last exit.",
            rich_help_panel=_TRAINING,
        ),
    ] = TRAINING.select_by,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue the interrupted run whose state is in this directory, with the options it started "
            "with (only --time-budget-minutes may be given anew) [default: a new run].",
            rich_help_panel=_TRAINING,
        ),
    ] = None,
) -> None:
    """Train a multi-exit model and write a checkpoint directory (it records its data recipe).

    The run saves a resumable state beside the output (OUTPUT.train-state) at each evaluation and
    every few minutes; it is removed once the checkpoint is written.
    """
    from epee.runtime.outputs import check_output_directory
    from epee.tasks.metrics import metric_title
    from epee.train.state import has_training_state, remove_training_state
    from epee.workflow.fit import resume_from_state, train_from_recipe

    check_output_directory(output)  # before training, so hours of work are never thrown away
    state_dir = resume or output.with_name(output.name + ".train-state")
    if resume is None and has_training_state(state_dir):
        raise EpeeError(
            f"{state_dir} holds the state of an interrupted run; continue it with --resume {state_dir}, "
            "or delete that directory to start again."
        )
    model_settings = ModelSettings(
        backbone=backbone,
        peft=peft,
        max_length=max_length,
        truncation=truncation,
        first_exit_layer=first_exit_layer,
        exit_every=exit_every,
        pooling=pooling,
    )
    seed = data_options["seed"] if data_options["seed"] is not None else TRAINING.seed
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
        gradient_accumulation_steps=gradient_accumulation_steps,
        select_by=select_by,
        precision=precision,
        eval_every_steps=eval_every_steps,
        patience=patience,
    )
    if resume is not None:
        trained, dataset = resume_from_state(resume, time_budget_minutes=time_budget_minutes)
    else:
        console.print(f"A resumable state is kept in {state_dir} until the checkpoint is written.")
        trained, dataset = train_from_recipe(data_options, model_settings, settings, state_dir=state_dir)
    trained.model.save_pretrained(output)
    remove_training_state(state_dir)
    history = trained.history
    best = history.best
    if best is not None:
        title = f"Dev {metric_title(dataset)} per exit (best epoch)"
        exits = trained.model.exit_layers
        console.print(to_rich(per_exit_table(title, exits, {"dev": best.dev_exit_metrics}, best.dev_exit_degenerate)))
    used = trained.model.config.training["settings"]
    console.print(
        f"Trained in {history.seconds:.0f} s ({history.steps} steps): {stop_text(history, used)}; checkpoint "
        f"written to {output}.",
        highlight=False,
    )
    if history.learned is False:
        console.print(
            "[bold red]The model did not learn:[/bold red] every exit is degenerate on dev (it predicts one class, "
            "or does not beat the majority class). Train longer or on more data before calibrating."
        )


def stop_text(history, settings: dict) -> str:
    """Why training ended and which epoch was kept, in the words of the options: e.g. ``stopped by
    --time-budget-minutes 15 in epoch 2 of 3; kept epoch 1 (best on dev)``."""
    last = history.epochs[-1] if history.epochs else None
    where = f" in epoch {last.epoch} of {settings['epochs']}" if last else ""
    if settings.get("two_stage") and last:
        where += f" of stage {last.stage}"
    if history.stopped_by == "max_steps":
        reason = f"stopped at --max-steps {settings['max_steps']}{where}"
    elif history.stopped_by == "time_budget":
        reason = f"stopped by --time-budget-minutes {settings['time_budget_minutes']:g}{where}"
    elif history.stopped_by == "early_stopping":
        reason = f"stopped early: --patience {settings['patience']} evaluations without a better dev metric{where}"
    else:
        reason = f"all {settings['epochs']} epochs ran" + (" per stage" if settings.get("two_stage") else "")
    best = history.best
    if best is None:
        return reason + "; no dev split, so the last weights were kept"
    stage = f" of stage {best.stage}" if settings.get("two_stage") else ""
    return f"{reason}; kept epoch {best.epoch}{stage} (best on dev)"


def _depth_weights(value: str) -> str | tuple[float, ...]:
    if value in DEPTH_WEIGHTINGS:
        return value
    try:
        return tuple(float(part) for part in value.split(","))
    except ValueError:
        raise EpeeError(
            f"--depth-weights must be one of {', '.join(DEPTH_WEIGHTINGS)} or numbers separated by commas, "
            f"got {value!r}."
        ) from None
