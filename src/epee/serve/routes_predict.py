"""``POST /predict`` in the style of Hugging Face text-embeddings-inference, and ``GET /info``."""

from __future__ import annotations

import importlib.metadata
import json

from fastapi import APIRouter, Request, Response

from epee.runtime import Predictions
from epee.serve.inputs import check_texts
from epee.serve.schemas import ErrorResponse, Info, Prediction, PredictRequest
from epee.serve.service import PredictionService

ERRORS = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (401, "Missing or wrong bearer token."),
        (413, "A request limit was exceeded; `limit` names it."),
        (422, "Malformed JSON, wrong types, or a policy that cannot run."),
        (503, "The queue is full or the server is shutting down; see Retry-After."),
    )
}


def predict_router(service: PredictionService) -> APIRouter:
    router = APIRouter()
    settings = service.settings

    @router.post("/predict", response_model=list[Prediction], responses=ERRORS)
    async def predict(body: PredictRequest, request: Request) -> Response:
        """Classify one text, a list of texts, or a list of text pairs; one answer per input, in order."""
        texts, pairs = _split_inputs(body.inputs)
        check_texts(texts, pairs, settings)
        key, policy = service.choose_policy(body.parameters)
        request.state.rows = len(texts)
        result = await service.predict(texts, pairs, key, policy)
        request.state.exit_layers = result.exit_layer.tolist()
        answers = _answers(result, body.parameters.top_k, body.parameters.return_probabilities)
        # Serialised here, in the shape `response_model` documents and as Starlette's JSONResponse writes
        # JSON: FastAPI's own path would validate and re-encode every answer through pydantic, a fixed
        # cost per request that weighs most on the cheap rows that exit early.
        content = json.dumps(answers, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return Response(content, media_type="application/json")

    @router.get("/info", response_model=Info, responses=ERRORS)
    async def info() -> Info:
        """The served model, its labels and exits, the default policy, the limits and the versions."""
        config = service.model.config
        return Info(
            model_id=service.model_name,
            backbone=config.backbone,
            model_type=config.model_type,
            task=config.task,
            labels=service.label_names,
            num_layers=service.model.num_layers,
            exit_layers=service.model.exit_layers,
            policy=config.policy,
            calibration=config.calibration,
            engine=settings.engine,
            schedule=settings.schedule,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            limits=settings.limits(),
            auth=settings.api_token is not None,
            versions={name: importlib.metadata.version(name) for name in ("epee", "torch", "transformers")},
        )

    return router


def _split_inputs(inputs: str | list) -> tuple[list[str], list[str] | None]:
    if isinstance(inputs, str):
        return [inputs], None
    if inputs and isinstance(inputs[0], tuple):
        return [pair[0] for pair in inputs], [pair[1] for pair in inputs]
    return list(inputs), None


def _answers(result: Predictions, top_k: int | None, return_probabilities: bool) -> list[dict]:
    """One :class:`Prediction` per row, as the dict it serialises to (fields that are None left out)."""
    names = result.label_names
    probabilities = result.probabilities.tolist()
    answers = []
    for label, row, layer in zip(result.labels, probabilities, result.exit_layer.tolist(), strict=True):
        if result.multi_label:
            chosen = list(label)
            score: float | list[float] = [row[names.index(name)] for name in chosen]
        else:
            chosen, score = label, row[names.index(label)]
        answer = {"label": chosen, "score": score, "exit_layer": layer}
        if top_k is not None:
            ranked = sorted(zip(names, row, strict=True), key=lambda item: -item[1])[:top_k]
            answer["top_k"] = [{"label": name, "score": value} for name, value in ranked]
        if return_probabilities:
            answer["probabilities"] = dict(zip(names, row, strict=True))
        answers.append(answer)
    return answers
