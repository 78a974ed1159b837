"""Request and response bodies of the service, as pydantic models (they also make the OpenAPI schema).

``/predict`` follows Hugging Face text-embeddings-inference's classification route; ``/v2/...``
follows the Open Inference Protocol (KServe v2). Unknown fields in ``/predict`` are refused, so a
misspelt parameter fails loudly instead of being ignored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PolicyChoice(BaseModel):
    """Which exit policy answers: the checkpoint's calibrated one (default), another, or every layer."""

    policy: str | None = Field(None, description="Exit policy name, e.g. 'entropy'; default: the calibrated one.")
    policy_params: dict[str, Any] | None = Field(None, description="Parameters of `policy`, e.g. {'tau': 0.2}.")
    full_depth: bool = Field(False, description="Run every layer (no early exit), e.g. as a reference.")


class PredictParameters(PolicyChoice):
    model_config = ConfigDict(extra="forbid")

    top_k: int | None = Field(None, ge=1, description="Also return the k most probable labels with their scores.")
    return_probabilities: bool = Field(False, description="Also return every label's probability.")


TextPair = tuple[str, str]


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"inputs": "Since the new dose my migraines have stopped.", "parameters": {"top_k": 2}},
                {"inputs": [["Warfarin raises bleeding risk.", "aspirin"]], "parameters": {"full_depth": True}},
            ]
        },
    )

    inputs: str | list[str] | list[TextPair] = Field(
        description="One text, a list of texts, or a list of [text, text_pair] pairs."
    )
    parameters: PredictParameters = Field(default_factory=PredictParameters)


class LabelScore(BaseModel):
    label: str
    score: float


class Prediction(BaseModel):
    """One input's answer. Multi-label models give every label above 0.5 in ``label`` and their scores."""

    label: str | list[str]
    score: float | list[float]
    exit_layer: int = Field(description="1-based backbone layer at which this input left the model.")
    top_k: list[LabelScore] | None = None
    probabilities: dict[str, float] | None = None


class ErrorResponse(BaseModel):
    error: str
    error_type: str
    limit: str | None = None


class Info(BaseModel):
    model_id: str
    backbone: str
    model_type: str
    task: str
    labels: list[str]
    num_layers: int
    exit_layers: list[int]
    policy: dict[str, Any] | None = Field(description="The calibrated policy answers by default; null: full depth.")
    calibration: dict[str, Any] | None = Field(description="What calibration stored with the policy, if anything.")
    engine: str
    schedule: str = Field(description="batch, or layer: queued rows join the running batch at layer boundaries.")
    max_batch_size: int
    max_wait_ms: float
    max_queue: int
    limits: dict[str, int]
    auth: bool
    versions: dict[str, str]


# ---- Open Inference Protocol v2 ----------------------------------------------------------------


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str] = []
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class InferInputTensor(BaseModel):
    name: str = Field(description="'text', or 'text_pair' for the second text of each pair.")
    shape: list[int]
    datatype: str = Field(description="BYTES: texts as UTF-8 strings.")
    parameters: dict[str, Any] | None = None
    data: list[Any]


class RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferParameters(PolicyChoice):
    """Request-level parameters; keys other clients send (e.g. KServe's content types) are ignored."""

    model_config = ConfigDict(extra="ignore")


class InferRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1",
                    "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["No side effects."]}],
                }
            ]
        }
    )

    id: str | None = None
    parameters: InferParameters | None = None
    inputs: list[InferInputTensor]
    outputs: list[RequestedOutput] | None = None


class InferOutputTensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    outputs: list[InferOutputTensor]
