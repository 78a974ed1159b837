"""What `epee calibrate --rule risk` shows and does beyond the other rules: the tested candidates, the
certificate in plain words, and calibration on a file of unlabelled texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from epee.cli.output import console
from epee.formatting import format_params_short
from epee.table import Table, to_rich


def tested_table(tested: Sequence[Mapping[str, Any]], certificate) -> Table:
    """The candidates in the order they were tested, slowest first; testing stops at the first one not certified."""
    rows = tuple(
        (
            entry["policy"],
            format_params_short(entry["params"]),
            f"{entry['ordering_layer_speedup']:.2f}x",
            f"{100 * entry['testing_risk']:.2f}",
            f"{entry['p_value']:.2g}",
            "yes" if entry["certified"] else "no",
        )
        for entry in tested
    )
    return Table(
        headers=("policy", "parameters", "speed-up", "risk %", "p-value", "certified"),
        rows=rows,
        numeric_from=2,
        title=f"Risk control: {certificate.risk} <= {100 * certificate.epsilon:g}% at delta {certificate.delta:g}",
        caption=(
            f"order and speed-up from {certificate.num_ordering} ordering examples; risk and {certificate.method} "
            f"p-values on {certificate.num_samples} others; testing stops at the first p-value above delta."
        ),
    )


def show_certificate(tested: Sequence[Mapping[str, Any]], certificate) -> None:
    console.print(to_rich(tested_table(tested, certificate)))
    console.print(certificate.statement())


def calibrate_on_file(
    checkpoint: Path,
    path: Path,
    data_options: Mapping[str, Any],
    settings,
    policies: str | None,
    output: Path | None,
    allow_external_backbone: bool,
    engine: str = "torch",
) -> None:
    """Certify the consistency risk on the texts of ``path`` and store the setting: no label column is read.

    With ``engine="onnx"``, ``checkpoint`` is an export and the risk is certified on its own graphs' exits.
    """
    from epee.calibrate.model_calibration import store_certificate
    from epee.cli.engine_options import engine_words
    from epee.errors import EpeeError
    from epee.models.multi_exit import copy_checkpoint
    from epee.policies import DEPLOYABLE_POLICIES
    from epee.workflow.checkpoint_data import load_model, recipe_for
    from epee.workflow.risk_calibration import certify_on_texts, read_calibration_texts

    if settings is None or settings.risk != "consistency":
        raise EpeeError(
            "--calibration-data holds no labels, so it serves only --rule risk --risk consistency; "
            "for other rules calibrate on a labelled dev split (--dev)."
        )
    model = load_model(checkpoint, allow_external_backbone=allow_external_backbone, engine=engine)
    _, recipe = recipe_for(model, {key: value for key, value in data_options.items() if value is not None})
    split = read_calibration_texts(
        model,
        path,
        text_column=recipe.text_column,
        text_pair_column=recipe.text_pair_column,
        format=data_options.get("format"),
        encoding=recipe.encoding,
    )
    chosen = tuple(policies.split(",")) if policies else DEPLOYABLE_POLICIES
    control = certify_on_texts(model, split, settings, policies=chosen)
    show_certificate(control.tested, control.certificate)
    if output is not None:
        copy_checkpoint(checkpoint, output)
    store_certificate(model, control, split=str(path))
    model.save_policy(output or checkpoint)
    console.print(
        f"Stored {control.policy} ({format_params_short(control.params)}){engine_words(model)} "
        f"in {output or checkpoint}."
    )
