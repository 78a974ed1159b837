"""Checkpoint sizes and save -> load round trips on a real trained model.

    python -m benchmarks.checkpoint_roundtrip runs/ddi-lora --dataset ddi

For a PEFT checkpoint: reloads it and checks every exit's logits are bit-identical; then merges
the adapter, saves the result as a full checkpoint, reloads that and checks again; prints both
directory sizes.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from epee.data import load_dataset
from epee.models import MultiExitModel
from epee.models.inputs import encode_split, featurizer_for


def directory_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def same_logits(first: MultiExitModel, second: MultiExitModel, batch) -> bool:
    with torch.inference_mode():
        return torch.equal(first(batch), second(batch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--rows", type=int, default=64)
    args = parser.parse_args()

    model = MultiExitModel.from_pretrained(args.checkpoint)
    featurizer = featurizer_for(model)
    examples = load_dataset(args.dataset, max_examples={"dev": args.rows}).dev[: args.rows]
    split = encode_split(featurizer, examples, model)
    batch = featurizer.collate(split.features)
    with tempfile.TemporaryDirectory() as scratch:
        resaved = model.save_pretrained(Path(scratch) / "resaved")
        print(
            f"{args.checkpoint} ({'PEFT ' + model.config.peft['method'] if model.config.peft else 'full'}): "
            f"{directory_size(args.checkpoint) / 1e6:.2f} MB; reload bit-identical on {len(split)} rows x "
            f"{len(model.exit_layers)} exits: {same_logits(model, MultiExitModel.from_pretrained(resaved), batch)}"
        )
        if model.config.peft is not None:
            model.merge_peft()
            full = model.save_pretrained(Path(scratch) / "full")
            print(
                f"merged full checkpoint: {directory_size(full) / 1e6:.2f} MB; reload bit-identical: "
                f"{same_logits(model, MultiExitModel.from_pretrained(full), batch)}"
            )


if __name__ == "__main__":
    main()
