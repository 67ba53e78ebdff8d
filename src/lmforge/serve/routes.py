"""The HTTP routes — thin: read the request, call the ModelPool, shape the answer —
and the one error funnel: every error becomes ``{"error": {"type", "message",
"request_id"}}`` with the status its ``LmforgeError`` class carries."""

from __future__ import annotations

import hmac
import logging
import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from lmforge.errors import LmforgeError
from lmforge.serve.errors import (
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServeError,
    Unauthorized,
)
from lmforge.serve.predictor import model_inputs, request_texts
from lmforge.serve.protocol import (
    ErrorResponse,
    ExplainRequest,
    ExplainResponse,
    HealthResponse,
    Limits,
    ModelInfo,
    ModelsResponse,
    PairsRequest,
    PredictRequest,
    PredictResponse,
    ReadyResponse,
    RowsRequest,
    parse_explain_request,
    parse_predict_request,
)
from lmforge.serve.run_files import RUN_FILES, run_file

log = logging.getLogger(__name__)

router = APIRouter()  # open: probes, metrics, the page
v1_router = APIRouter()  # the API; create_app adds require_api_key when a key is set, so the
# OpenAPI spec says "bearer required" exactly when it is
bearer = HTTPBearer(auto_error=False, description="Needed when the server was started with "
                    "--api-key or LMFORGE_API_KEY.")


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    what = {400: "Body is not UTF-8", 401: "Missing or wrong API key", 404: "Unknown model",
            413: "Body, number of texts or a text over its limit",
            422: "Invalid JSON, wrong types, empty list or empty text",
            500: "The model failed (the request id is in the log)",
            503: "Queue full, model loading or server shutting down (see Retry-After)"}
    return {c: {"model": ErrorResponse, "description": what[c]} for c in codes}


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    expected = request.app.state.config.api_key
    if credentials is None:
        raise Unauthorized("this server needs an API key: send the header "
                           "'Authorization: Bearer YOUR_KEY'")
    # compare_digest: the time taken does not reveal how much of the key was right
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Unauthorized("the API key is wrong: send the key the server was started with "
                           "(--api-key or LMFORGE_API_KEY)")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over ``limit`` bytes
    (from Content-Length, or while streaming a chunked body), so memory stays bounded."""
    too_big = PayloadTooLarge(f"the request body is over {limit:,} bytes (--max-body-bytes). "
                              "Send fewer or shorter texts per request.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


@v1_router.post(
    "/v1/predict", response_model=PredictResponse, response_model_exclude_none=True,
    responses=_errors(400, 401, 404, 413, 422, 500, 503),
    summary="Predict the label of each text",
    # The body is read by hand (see protocol.py); this documents it for /docs and clients.
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"anyOf": [kind.model_json_schema() for kind in (
            PredictRequest, PairsRequest, RowsRequest)]}}}}},
)
async def predict(request: Request) -> Any:
    config = request.app.state.config
    body = await read_body(request, config.max_body_bytes)
    req = parse_predict_request(body, config.max_texts_per_request, config.max_text_chars)
    pool = request.app.state.pool
    texts = request_texts(req, pool.ready_model(req.model).classifier)
    model, predictions = await pool.predict(texts, req.model, request_id(request))
    return {"model": model.name, "task": model.classifier.task, "predictions": predictions}


@v1_router.post(
    "/v1/explain", response_model=ExplainResponse, response_model_exclude_none=True,
    responses=_errors(400, 401, 404, 413, 422, 500, 503),
    summary="Which words made the model decide, for each text",
    description="Word attributions of the predicted class (multi-label: of each label "
    "predicted positive, or the top one; regression: of the value), by Integrated Gradients "
    "or leave-one-word-out occlusion. Same body, validation and errors as /v1/predict, with "
    "fewer texts per request. Computed beside the prediction batcher, not through it.",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": ExplainRequest.model_json_schema()}}}},
)
async def explain(request: Request) -> Any:
    config = request.app.state.config
    body = await read_body(request, config.max_body_bytes)
    req = parse_explain_request(body, config.max_texts_per_request, config.max_text_chars)
    clf = request.app.state.pool.ready_model(req.model).classifier
    if model_inputs(getattr(clf, "settings", None) or {})[1]:
        raise InvalidRequest("explanations are for models that read one text; this one reads "
                             "sentence pairs. Use /v1/predict.")
    texts = request_texts(req, clf)  # one text each: no pair/join marks
    model, explanations = await request.app.state.pool.explain(texts, req.model, req.method,
                                                               request_id(request), req.word)
    return {"model": model.name, "task": model.classifier.task, "explanations": explanations}


@v1_router.get("/v1/models", response_model=ModelsResponse, responses=_errors(401),
               summary="The served models and the request limits")
async def models(request: Request) -> ModelsResponse:
    pool, config = request.app.state.pool, request.app.state.config
    infos = []
    for name, m in pool.models.items():
        clf = m.classifier
        infos.append(ModelInfo(
            name=name, task=clf.task if clf else None, labels=list(clf.labels) if clf else [],
            default=name == pool.default, ready=m.state == "ready",
            max_length=clf.max_length if clf else None, example=m.example,
            **{kind: f"/v1/models/{quote(name, safe='')}/{kind}" if run_file(m.run_dir, kind)
               else None for kind in RUN_FILES},
            **_inputs_of(clf)))
    limits = Limits(max_texts_per_request=config.max_texts_per_request,
                    max_text_chars=config.max_text_chars, max_body_bytes=config.max_body_bytes,
                    max_batch_size=config.max_batch_size)
    return ModelsResponse(models=infos, limits=limits)


MARKDOWN_FILE = {200: {"content": {"text/markdown": {"schema": {"type": "string"}}},
                       "description": "The file, Markdown"}}


@v1_router.get("/v1/models/{name}/report", response_class=Response,
               responses={**MARKDOWN_FILE, **_errors(401, 404)},
               summary="The run's report: results, warnings, mistakes (report.md)")
async def report(name: str, request: Request) -> Response:
    return _markdown(request, name, "report")


@v1_router.get("/v1/models/{name}/card", response_class=Response,
               responses={**MARKDOWN_FILE, **_errors(401, 404)},
               summary="The run's model card (README.md, Hugging Face form)")
async def card(name: str, request: Request) -> Response:
    return _markdown(request, name, "card")


def _markdown(request: Request, name: str, kind: str) -> Response:
    model = request.app.state.pool.get(name)  # 404 for a model not served
    path = run_file(model.run_dir, kind)
    if path is None:
        raise NotFound(f"model '{name}' has no {kind}: its run directory has no "
                       f"{RUN_FILES[kind]} (`lmforge train` writes one; copy it with the run)")
    return Response(path.read_bytes(), media_type="text/markdown; charset=utf-8")


def _inputs_of(clf: Any) -> dict[str, Any]:
    if clf is None:
        return {}
    inputs, pair = model_inputs(getattr(clf, "settings", None) or {})
    return {"inputs": inputs, "pair": pair}


@router.get("/health", response_model=HealthResponse, summary="Liveness: the process answers")
async def health() -> HealthResponse:
    return HealthResponse()


@router.get("/ready", response_model=ReadyResponse, summary="Readiness: models loaded and warm",
            responses={503: {"model": ReadyResponse, "description": "Loading, failed or draining"}})
async def ready(request: Request) -> Any:
    status, states = request.app.state.pool.readiness()
    body = ReadyResponse(status=status, models=states)
    if status == "ready":
        return body
    return JSONResponse(body.model_dump(), status_code=503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format"}})
async def metrics(request: Request) -> Response:
    data, content_type = request.app.state.metrics.render()
    return Response(data, media_type=content_type)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request) -> HTMLResponse:
    from lmforge.serve.page import page_html

    return HTMLResponse(page_html(request.app.state.pool.default))


# ---- the error funnel ------------------------------------------------------------------

def error_type(exc: LmforgeError) -> str:
    kind = getattr(exc, "error_type", None)
    return kind or re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def error_response(exc: LmforgeError, rid: str) -> JSONResponse:
    """The one place an error becomes an HTTP response."""
    status = exc.http_status
    # 503s are expected under overload (counted in /metrics): logging each would flood the log
    level = logging.ERROR if status >= 500 and status != 503 else logging.DEBUG
    log.log(level, "request %s: %d %s: %s", rid, status, error_type(exc), exc)
    headers = {**getattr(exc, "headers", {}), "X-Request-ID": rid}
    body = {"error": {"type": error_type(exc), "message": str(exc), "request_id": rid}}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """LmforgeError is the funnel; the other handlers only translate what the framework
    raises (unknown path, wrong method, a bug) into an LmforgeError first."""

    async def on_lmforge_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LmforgeError)
        return error_response(exc, request_id(request))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        allowed = next((v for k, v in headers.items() if k.lower() == "allow"), "")
        translated: ServeError
        if exc.status_code == 404:
            translated = NotFound(f"no such path: {request.method} {request.url.path}. The API "
                                  "is POST /v1/predict, POST /v1/explain, GET /v1/models, /health, /ready, "
                                  "/metrics; see /docs")
        elif exc.status_code == 405:
            translated = MethodNotAllowed(f"{request.method} is not allowed on "
                                          f"{request.url.path}; use {allowed or 'another method'}",
                                          headers)
        else:
            translated = ServeError(str(exc.detail), headers)
            translated.http_status = exc.status_code
            translated.error_type = "http_error"
        return error_response(translated, request_id(request))

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        from lmforge.serve.protocol import describe_errors

        return error_response(InvalidRequest(describe_errors(exc.errors())), request_id(request))

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id(request)
        log.error("request %s: unexpected %s", rid, type(exc).__name__, exc_info=exc)
        return error_response(ServeError(f"internal error ({type(exc).__name__}). Request id "
                                         f"{rid}: the server log has the details."), rid)

    app.add_exception_handler(LmforgeError, on_lmforge_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_bug)


def narrow_predict_schema(schema: dict[str, Any], run_settings: list[dict[str, Any]]) -> None:
    """Keep, in the OpenAPI body of POST /v1/predict, only the input shapes some served model
    reads: ``texts`` (a model of one input), ``pairs`` (a sentence-pair model), ``rows`` (a model
    of several columns or a pair, each row with exactly those columns); and /v1/explain's
    ``word`` only when a token run is served. Edits ``schema``."""
    shapes = [model_inputs(settings) for settings in run_settings]
    column_sets = {tuple(columns) for columns, _ in shapes if len(columns) > 1}
    keep = {"texts": any(not pair for _, pair in shapes),
            "pairs": any(pair for _, pair in shapes), "rows": bool(column_sets)}
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    choices = []
    for choice in body["schema"]["anyOf"]:
        shape = next(k for k in ("texts", "pairs", "rows") if k in choice.get("properties", {}))
        if not keep[shape]:
            continue
        if shape == "rows" and len(column_sets) == 1:  # one set of columns: name them exactly
            (columns,) = column_sets
            row = {"type": "object", "additionalProperties": False, "required": list(columns),
                   "properties": {c: {"type": "string"} for c in columns}}
            choice = {**choice, "properties": {**choice["properties"], "rows": {
                **choice["properties"]["rows"], "items": row}}}
        choices.append(choice)
    body["schema"] = choices[0] if len(choices) == 1 else {"anyOf": choices}
    operation = schema["paths"].get("/v1/explain", {}).get("post")
    if operation and not any(settings.get("task") == "tokens" for settings in run_settings):
        # 'word' picks a word of a token run to explain: no such run served, no such field
        explain = operation["requestBody"]["content"]["application/json"]
        fields = explain["schema"]
        explain["schema"] = {**fields, "properties": {
            k: v for k, v in fields["properties"].items() if k != "word"}}
