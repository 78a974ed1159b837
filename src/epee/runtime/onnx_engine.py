"""``OnnxModel``: an exported directory run by ONNX Runtime, segment by segment, behind the engine interface.

The early-exit loop, policies and batch compaction are those of :mod:`epee.runtime.dynamic`; only the
computation of a segment changes. ``predict(OnnxModel.load(DIR), texts)`` works as with a PyTorch model.
Calling the model gives every exit's logits, as :class:`~epee.models.MultiExitModel` does, so calibration
runs on the graphs a user deploys (int8 moves the exits' confidences) and :meth:`OnnxModel.save_policy`
stores the result in the directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from epee.atomic import write_text_atomically
from epee.errors import EpeeError
from epee.models.backbones import load_tokenizer
from epee.models.config import MultiExitConfig
from epee.runtime.onnx_export import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    POLICY_FROM_GRAPHS,
    TOKENIZER_DIR,
    file_sha256,
    flat_names,
)
from epee.runtime.speed import FlopShape


@dataclass(frozen=True)
class ExportedFamily:
    """What callers ask of a model's backbone family without running it: exports are text encoders."""

    display_name: str
    modality: str = "text"


class OnnxState:
    """Named arrays with the batch on axis 0: hidden states, the 2-D mask and the layer inputs."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    @property
    def batch_size(self) -> int:
        return self.arrays["hidden"].shape[0]

    def select(self, rows: torch.Tensor) -> OnnxState:
        keep = rows.cpu().numpy()
        return OnnxState({name: array[keep] for name, array in self.arrays.items()})


def _session(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxModel:
    """The exported graphs, config and tokenizer of one model; an :class:`epee.runtime.engine.Engine`."""

    def __init__(self, directory: Path, manifest: dict, config: MultiExitConfig, tokenizer, sessions, threads: int):
        self.directory = directory
        self.manifest = manifest
        self.config = config
        self.tokenizer = tokenizer
        self.exit_layers: list[int] = list(manifest["exit_layers"])
        self.num_layers: int = manifest["num_layers"]
        self.num_labels = config.num_labels
        self.multi_label = config.multi_label
        self.threads = threads
        self.family = ExportedFamily(display_name=manifest["model_type"])
        self.input_names: list[str] = list(manifest["inputs"])
        self.layer_names = flat_names([tuple(item) for item in manifest["layer_inputs"]])
        self._embeddings, *self._segments = sessions
        self._segment_inputs = [[node.name for node in session.get_inputs()] for session in self._segments]

    @classmethod
    def load(cls, directory: str | Path, *, threads: int | None = None) -> OnnxModel:
        """Open ``directory`` written by ``epee export``; every graph's hash is checked against the manifest."""
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise EpeeError('The ONNX engine needs onnxruntime; install it with pip install "epee[onnx]".') from None
        directory = Path(directory)
        path = directory / MANIFEST_NAME
        if not path.is_file():
            raise EpeeError(
                f"{directory} is not an ONNX export: it has no {MANIFEST_NAME}; write one with `epee export`."
            )
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EpeeError(f"{path} is not valid JSON ({error}); export the model again.") from None
        if manifest.get("format") != MANIFEST_FORMAT:
            raise EpeeError(f"{path} has format {manifest.get('format')!r}; this epee reads format {MANIFEST_FORMAT}.")
        threads = threads or torch.get_num_threads()
        graphs = [manifest["embeddings"], *manifest["segments"]]
        sessions = []
        for graph in graphs:
            graph_path = directory / graph["file"]
            if not graph_path.is_file() or file_sha256(graph_path) != graph["sha256"]:
                raise EpeeError(f"{graph_path} is missing or does not match its hash in {MANIFEST_NAME}; export again.")
            sessions.append(_session(graph_path, threads))
        config = MultiExitConfig.load(directory)
        tokenizer = load_tokenizer(str(directory / TOKENIZER_DIR)) if (directory / TOKENIZER_DIR).is_dir() else None
        return cls(directory, manifest, config, tokenizer, sessions, threads)

    @property
    def flop_shape(self) -> FlopShape:
        shape = self.manifest.get("flop_shape")
        if shape is None:
            raise EpeeError(f"{self.directory} was exported by an older epee without the layer shape; export again.")
        return FlopShape(**shape)

    @property
    def description(self) -> dict:
        """What calibration records of the graphs it ran on: the engine and the quantization applied."""
        return {"name": "onnx", "quantization": self.manifest["quantization"]}

    def save_policy(self, directory: str | Path) -> Path:
        """Store the config's policy and calibration in the export ``directory`` (sidecar and manifest), as
        calibrated on these graphs; the graphs and their hashes are not touched."""
        directory = Path(directory)
        path = directory / MANIFEST_NAME
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if [graph["sha256"] for graph in manifest["segments"]] != [g["sha256"] for g in self.manifest["segments"]]:
            raise EpeeError(f"{directory} holds other graphs than the ones calibrated; its policy was not changed.")
        self.config.save_policy(directory)
        manifest.update(policy=self.config.policy, policy_source=POLICY_FROM_GRAPHS)
        write_text_atomically(path, json.dumps(manifest, indent=2) + "\n")
        self.manifest = manifest
        return directory

    def eval(self) -> OnnxModel:
        """Nothing to switch: graphs are exported in inference mode (kept so ``predict`` treats engines alike)."""
        return self

    def embed(self, inputs: Mapping[str, torch.Tensor]) -> OnnxState:
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise EpeeError(f"The ONNX graphs take the inputs {self.input_names}; {missing} not given.")
        feed = {name: inputs[name].cpu().numpy().astype(np.int64) for name in self.input_names}
        hidden, *layer_inputs = self._embeddings.run(None, feed)
        attention_mask = feed.get("attention_mask", np.ones_like(feed["input_ids"]))
        return OnnxState(
            {
                "hidden": hidden,
                "attention_mask": attention_mask,
                **dict(zip(self.layer_names, layer_inputs, strict=True)),
            }
        )

    def __call__(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Every exit's logits for every row, ``[exits, batch, labels]``: all segments run, no row leaves."""
        state, logits = self.embed(inputs), []
        for exit_index in range(len(self.exit_layers)):
            state, exit_logits = self.segment(exit_index, state)
            logits.append(exit_logits)
        return torch.stack(logits)

    def segment(self, exit_index: int, state: OnnxState) -> tuple[OnnxState, torch.Tensor]:
        feed = {name: state.arrays[name] for name in self._segment_inputs[exit_index]}
        outputs = self._segments[exit_index].run(None, feed)
        logits = torch.from_numpy(outputs[0])
        if len(outputs) == 1:  # the last segment returns only logits
            return state, logits
        return OnnxState({**state.arrays, "hidden": outputs[1]}), logits
