"""Open Inference Protocol v2 (KServe v2) routes: health, server and model metadata, and ``infer``.

Texts arrive as a BYTES tensor named ``text`` (and ``text_pair`` for pairs); the answer carries the
label, its score, every probability and, as an extra output, the layer each row exited at.
"""

import math
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

import epee
from epee.runtime import Predictions
from epee.serve.errors import ServeError
from epee.serve.inputs import check_texts
from epee.serve.routes_predict import ERRORS
from epee.serve.schemas import (
    InferInputTensor,
    InferOutputTensor,
    InferRequest,
    InferResponse,
    ModelMetadata,
    TensorMetadata,
)
from epee.serve.service import PredictionService

INPUT_NAMES = ("text", "text_pair")


def health_router(service: PredictionService) -> APIRouter:
    """Liveness and readiness, open without a token so orchestrators can probe them."""
    router = APIRouter()

    @router.get("/v2/health/live")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @router.get("/v2/health/ready")
    async def ready() -> JSONResponse:
        accepting = service.batcher.accepting
        return JSONResponse({"ready": accepting}, status_code=200 if accepting else 503)

    return router


def oip_router(service: PredictionService) -> APIRouter:
    router = APIRouter()
    num_labels = len(service.label_names)
    ModelName = Annotated[str, Path(description="The served model's name.", examples=[service.model_name])]

    def check_name(name: str) -> None:
        if name != service.model_name:
            raise ServeError(
                404, f"No model named {name!r} is served here; this server serves {service.model_name!r}.", "not_found"
            )

    @router.get("/v2")
    async def server_metadata() -> dict[str, Any]:
        return {"name": "epee", "version": epee.__version__, "extensions": []}

    @router.get("/v2/models/{name}", response_model=ModelMetadata, responses=ERRORS)
    async def model_metadata(name: ModelName) -> ModelMetadata:
        check_name(name)
        label_datatype, label_shape = ("BOOL", [-1, num_labels]) if service.multi_label else ("BYTES", [-1])
        return ModelMetadata(
            name=service.model_name,
            platform=f"epee_{service.settings.engine}",
            inputs=[TensorMetadata(name=input_name, datatype="BYTES", shape=[-1]) for input_name in INPUT_NAMES],
            outputs=[
                TensorMetadata(name="label", datatype=label_datatype, shape=label_shape),
                *([] if service.multi_label else [TensorMetadata(name="score", datatype="FP32", shape=[-1])]),
                TensorMetadata(name="probabilities", datatype="FP32", shape=[-1, num_labels]),
                TensorMetadata(name="exit_layer", datatype="INT64", shape=[-1]),
            ],
        )

    @router.get("/v2/models/{name}/ready", responses=ERRORS)
    async def model_ready(name: ModelName) -> JSONResponse:
        check_name(name)
        accepting = service.batcher.accepting
        return JSONResponse({"name": name, "ready": accepting}, status_code=200 if accepting else 503)

    @router.post("/v2/models/{name}/infer", response_model=InferResponse, responses=ERRORS)
    async def infer(name: ModelName, body: InferRequest, request: Request) -> InferResponse:
        """Classify the texts of the ``text`` tensor (with ``text_pair``, pairs); outputs in input order."""
        check_name(name)
        tensors = _input_tensors(body.inputs)
        texts = _texts(tensors["text"])
        pairs = _texts(tensors["text_pair"]) if "text_pair" in tensors else None
        if pairs is not None and len(pairs) != len(texts):
            raise ServeError(
                422, f"text_pair holds {len(pairs)} texts but text holds {len(texts)}; give one per text.", "validation"
            )
        check_texts(texts, pairs, service.settings)
        key, policy = service.choose_policy(body.parameters)
        request.state.rows = len(texts)
        result = await service.predict(texts, pairs, key, policy)
        request.state.exit_layers = result.exit_layer.tolist()
        outputs = _outputs(result)
        if body.outputs is not None:
            available = {output.name: output for output in outputs}
            unknown = [output.name for output in body.outputs if output.name not in available]
            if unknown:
                raise ServeError(
                    422, f"Unknown output {unknown[0]!r}; this model has the outputs {list(available)}.", "validation"
                )
            outputs = [available[output.name] for output in body.outputs]
        return InferResponse(model_name=service.model_name, id=body.id, outputs=outputs)

    return router


def _input_tensors(inputs: list[InferInputTensor]) -> dict[str, InferInputTensor]:
    tensors: dict[str, InferInputTensor] = {}
    for tensor in inputs:
        if tensor.name not in INPUT_NAMES:
            raise ServeError(422, f"Unknown input tensor {tensor.name!r}; the inputs are {INPUT_NAMES}.", "validation")
        if tensor.name in tensors:
            raise ServeError(422, f"The input tensor {tensor.name!r} is given twice.", "validation")
        tensors[tensor.name] = tensor
    if "text" not in tensors:
        raise ServeError(422, "The request needs an input tensor named 'text' (datatype BYTES).", "validation")
    return tensors


def _texts(tensor: InferInputTensor) -> list[str]:
    """The tensor's strings, flattened row-major; the shape must hold exactly as many elements."""
    if tensor.datatype != "BYTES":
        raise ServeError(
            422, f"The input tensor {tensor.name!r} must have datatype BYTES, got {tensor.datatype!r}.", "validation"
        )
    flat = _flatten(tensor.data)
    if any(not isinstance(value, str) for value in flat):
        raise ServeError(422, f"The input tensor {tensor.name!r} must hold strings only.", "validation")
    if any(size < 0 for size in tensor.shape) or math.prod(tensor.shape) != len(flat):
        raise ServeError(
            422,
            f"The input tensor {tensor.name!r} has shape {tensor.shape} but holds {len(flat)} elements.",
            "validation",
        )
    return flat


def _flatten(data: list[Any], depth: int = 0) -> list[Any]:
    if depth > 8:
        raise ServeError(
            422, "Tensor data is nested too deeply; send a flat list or one level per dimension.", "validation"
        )
    flat: list[Any] = []
    for value in data:
        flat.extend(_flatten(value, depth + 1) if isinstance(value, list) else [value])
    return flat


def _outputs(result: Predictions) -> list[InferOutputTensor]:
    rows = len(result.exit_layer)
    probabilities = result.probabilities
    num_labels = probabilities.shape[1]
    if result.multi_label:
        chosen = [[name in labels for name in result.label_names] for labels in result.labels]
        label = InferOutputTensor(
            name="label", shape=[rows, num_labels], datatype="BOOL", data=[on for row in chosen for on in row]
        )
        extra: list[InferOutputTensor] = []
    else:
        label = InferOutputTensor(name="label", shape=[rows], datatype="BYTES", data=list(result.labels))
        extra = [
            InferOutputTensor(
                name="score", shape=[rows], datatype="FP32", data=probabilities.max(dim=-1).values.tolist()
            )
        ]
    return [
        label,
        *extra,
        InferOutputTensor(
            name="probabilities", shape=[rows, num_labels], datatype="FP32", data=probabilities.flatten().tolist()
        ),
        InferOutputTensor(name="exit_layer", shape=[rows], datatype="INT64", data=result.exit_layer.tolist()),
    ]
