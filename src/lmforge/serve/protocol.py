"""Request and response schemas of the HTTP API (they are the OpenAPI schema), and the
parsing of a predict request's raw bytes into a validated ``PredictRequest``.

The predict route reads the body itself instead of letting FastAPI do it, so that a
non-UTF-8 body, invalid JSON, an oversized body and each bad field get their own status
and a message a person can act on, all as ``ServeError``s through the one funnel.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lmforge.serve.errors import BadRequest, InvalidRequest, PayloadTooLarge

Task = Literal["single", "multi", "regression", "tokens"]
NON_BLANK = r"\S"  # JSON Schema / pydantic patterns match anywhere: "has a non-space character"
Text = Annotated[str, Field(min_length=1, pattern=NON_BLANK)]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"texts": ["Some text to classify."]}]})

    texts: list[Text] = Field(
        min_length=1,
        description="Texts to classify; the predictions come back in the same order. Limits on "
        "their number and length: GET /v1/models.",
    )
    model: str | None = Field(
        default=None,
        description="Name of a served model (GET /v1/models); default: the first one.",
    )


class PairsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"pairs": [["A man is playing a guitar.", "Someone plays music."]]}]})

    pairs: list[Annotated[list[Text], Field(min_length=2, max_length=2)]] = Field(
        min_length=1,
        description="Sentence pairs [first, second] for a model trained on pairs (GET "
        "/v1/models: 'inputs' has two names); the predictions come back in the same order.",
    )
    model: str | None = Field(
        default=None,
        description="Name of a served model (GET /v1/models); default: the first one.",
    )


class RowsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"rows": [{"title": "Storm hits coast", "text": "Heavy rain ..."}]}]})

    rows: list[dict[str, str]] = Field(
        min_length=1,
        description="Inputs by column, for a model trained on several text columns (or a "
        "pair): each row maps every name in the model's 'inputs' (GET /v1/models) to its text; "
        "they are joined as in training. Empty cells are allowed, except in a pair.",
    )
    model: str | None = Field(
        default=None,
        description="Name of a served model (GET /v1/models); default: the first one.",
    )


# Explanations cost tens of forward and backward passes per text (IG's integration steps, or
# one pass per word for occlusion): fewer texts per request than /v1/predict takes.
MAX_EXPLAIN_TEXTS = 16


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"texts": ["Some text to explain."], "method": "ig"}]})

    texts: list[Text] = Field(
        min_length=1,
        description=f"Texts to explain, in order. At most {MAX_EXPLAIN_TEXTS} per request (or "
        "the server's max_texts_per_request, if lower); the length limit of /v1/predict applies.",
    )
    model: str | None = Field(
        default=None,
        description="Name of a served model (GET /v1/models); default: the first one.",
    )
    method: Literal["ig", "occlusion"] | None = Field(
        default=None,
        description="ig: Integrated Gradients on the input word embeddings ([PAD] baseline); "
        "occlusion: leave-one-word-out, the drop in the target's logit. Default: ig for PyTorch "
        "runs, occlusion for ONNX runs (no gradients there), and for TF-IDF runs their exact "
        "per-word contributions (coefficient x tf-idf weight; method 'linear' in the answer).",
    )
    word: int | None = Field(
        default=None, ge=0,
        description="Token runs (named entities, part-of-speech) only: explain the tag of this "
        "word (counted from 0) of each text instead of each entity found; required for runs with "
        "plain tags. Token runs are explained by occlusion: each other word masked in turn.",
    )


class Entity(BaseModel):
    text: str = Field(description="The entity as it appears in the text: text[start:end].")
    type: str = Field(description="Its type, e.g. PER, LOC, ORG.")
    start: int = Field(description="Character offset of its first character.")
    end: int = Field(description="Character offset after its last character.")
    score: float = Field(description="Mean probability of its tokens' predicted tags.")


class Prediction(BaseModel):
    label: str | None = Field(default=None, description="Predicted class (single-label runs).")
    labels: list[str] | None = Field(
        default=None, description="Predicted classes, probability >= 0.5 (multi-label runs).")
    scores: dict[str, float] | None = Field(
        default=None, description="Probability of each class, in the model's class order.")
    value: float | None = Field(default=None, description="Predicted number (regression runs).")
    entities: list[Entity] | None = Field(
        default=None, description="Entities found, with character offsets (token runs, BIO tags).")
    tokens: list[str] | None = Field(default=None, description="The text's tokens (token runs).")
    spans: list[list[int]] | None = Field(
        default=None, description="[start, end) character span of each token (token runs).")
    tags: list[str] | None = Field(default=None, description="One tag per token (token runs).")


class PredictResponse(BaseModel):
    model: str
    task: Task
    predictions: list[Prediction]


class WordExplanation(BaseModel):
    index: int = Field(description="Position of the text in the request (multi-label runs: one "
                       "entry per explained label).")
    target: str = Field(description="The label explained (regression: value).")
    method: Literal["ig", "occlusion", "linear"]
    text: str = Field(description="The text as the model read it (cleaned); spans index into it.")
    words: list[str]
    spans: list[list[int]] = Field(description="[start, end) character span of each word in text.")
    scores: list[float] = Field(
        description="Attribution of each word to the target's logit; > 0 pushed towards it.")
    label: str | None = Field(default=None, description="Predicted class (single-label runs).")
    labels: list[str] | None = Field(
        default=None, description="Predicted classes, probability >= 0.5 (multi-label runs).")
    probabilities: dict[str, float] | None = Field(
        default=None, description="Probability of each class, in the model's class order.")
    value: float | None = Field(default=None, description="Predicted number (regression runs).")
    steps: int | None = Field(default=None, description="ig: integration steps used.")
    completeness_gap: float | None = Field(
        default=None, description="ig: |sum(scores) - (logit(input) - logit(baseline))|.")
    truncated: bool = Field(description="The text was longer than the model takes.")
    dropped_words: list[str] = Field(description="Words the model did not read (truncation).")
    dropped_spans: list[list[int]] = Field(
        default_factory=list,
        description="[start, end) character span in text of each word not read.")


class TokenExplanation(BaseModel):
    index: int = Field(description="Position of the text in the request.")
    target: str = Field(description="The entity type (e.g. LOC), or the explained word's tag.")
    target_tags: list[str] = Field(description="The predicted tags whose probability is "
                                   "explained, e.g. [B-LOC, I-LOC].")
    method: Literal["occlusion"]
    text: str
    words: list[str]
    spans: list[list[int]] = Field(description="[start, end) character span of each word in text.")
    tags: list[str] = Field(description="The predicted tag of each word.")
    start: int = Field(description="First explained word (an entity, or the word asked for).")
    end: int = Field(description="One past the last explained word.")
    probability: float = Field(description="Mean probability of target_tags over the explained "
                               "words.")
    scores: list[float | None] = Field(
        description="For each other word, the drop in probability when it is masked (> 0: it "
        "supported the prediction); null for the explained words themselves.")
    entity: bool = Field(description="True: an entity the model found; false: the word asked for.")


class ExplainResponse(BaseModel):
    model: str
    task: Task
    explanations: list[WordExplanation] | list[TokenExplanation]


class ModelInfo(BaseModel):
    name: str
    task: Task | None = Field(description="single, multi or regression (null while loading).")
    labels: list[str] = Field(
        description="Class names in score order (empty for regression and while loading).")
    default: bool = Field(description="Used when a request names no model.")
    ready: bool = Field(description="Loaded and warmed up.")
    max_length: int | None = Field(
        description="Tokens per text; longer texts are truncated (null while loading).")
    inputs: list[str] = Field(
        default_factory=lambda: ["text"],
        description="What one input is: ['text'] (send texts), the two columns of a sentence "
        "pair (send pairs or rows), or several columns joined into one input (send rows).")
    pair: bool = Field(default=False, description="The model reads sentence pairs.")
    example: dict[str, str] | None = Field(
        default=None,
        description="A short input like the ones the model was trained on, by input name (the "
        "model card's widget text, or a short text of the training data); null when the run "
        "records none or while loading.")
    report: str | None = Field(
        default=None, description="Path of the run's report (GET, Markdown); null: it has none.")
    card: str | None = Field(
        default=None, description="Path of the run's model card (GET, Markdown); null: it has "
        "none.")


class Limits(BaseModel):
    max_texts_per_request: int
    max_text_chars: int
    max_body_bytes: int
    max_batch_size: int


class ModelsResponse(BaseModel):
    models: list[ModelInfo]
    limits: Limits


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready", "loading", "draining", "failed"]
    models: dict[str, str] = Field(description="State of each model: loading, ready or failed.")


class ErrorBody(BaseModel):
    type: str = Field(description="Machine-readable kind, e.g. invalid_request, queue_full.")
    message: str = Field(description="What went wrong and what to do about it.")
    request_id: str | None = Field(default=None, description="Also in the server log.")


class ErrorResponse(BaseModel):
    error: ErrorBody


def parse_predict_request(body: bytes, max_texts: int,
                          max_chars: int) -> PredictRequest | PairsRequest | RowsRequest:
    """Bytes -> validated request: ``texts``, or ``pairs``/``rows`` (sentence pairs, several
    columns). Raises BadRequest (400), PayloadTooLarge (413) or InvalidRequest (422) with a
    message naming the problem and the limit."""
    data = _json_body(body)
    kind: type[PredictRequest | PairsRequest | RowsRequest] = PredictRequest
    fields = "'texts' and 'model'"
    if isinstance(data, dict) and "texts" not in data:
        if "pairs" in data:
            kind, fields = PairsRequest, "'pairs' and 'model'"
        elif "rows" in data:
            kind, fields = RowsRequest, "'rows' and 'model'"
    if isinstance(data, dict):
        key = {PredictRequest: "texts", PairsRequest: "pairs", RowsRequest: "rows"}[kind]
        check_limits(data.get(key), max_texts, max_chars, key)
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_errors(exc.errors(), fields)) from None


def parse_explain_request(body: bytes, max_texts: int, max_chars: int) -> ExplainRequest:
    """``parse_predict_request`` for /v1/explain: same errors, and at most
    ``MAX_EXPLAIN_TEXTS`` texts."""
    data = _json_body(body)
    if isinstance(data, dict):
        check_limits(data.get("texts"), max_texts, max_chars)
    # validated before the explain limit: a request that is wrong in another field is 422
    # whatever its size (the service's own limits above already bound the validation's cost)
    try:
        request = ExplainRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_errors(exc.errors(), "'texts', 'model', 'method' and 'word'")) from None
    if len(request.texts) > MAX_EXPLAIN_TEXTS:
        raise PayloadTooLarge(
            f"too many texts to explain: {len(request.texts):,} in one request, the limit is "
            f"{MAX_EXPLAIN_TEXTS} (each explanation takes tens of forward passes). Split "
            "them over several requests.")
    return request


def _json_body(body: bytes) -> Any:
    try:
        text = body.decode("utf-8-sig")  # strict; a UTF-8 byte-order mark is tolerated
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"the request body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset "
            f"{exc.start}). Send JSON encoded as UTF-8."
        ) from None
    if not text.strip():
        raise InvalidRequest('the request body is empty. Send JSON like {"texts": ["some text"]}.')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f'{exc.colno}. Send JSON like {{"texts": ["some text"]}}.'
        ) from None
    return data


def check_limits(texts: Any, max_texts: int, max_chars: int, key: str = "texts") -> None:
    """413 for too many or too long texts (``key``: texts, or the texts of pairs or rows),
    checked before the (costlier) validation."""
    if not isinstance(texts, list):
        return
    if len(texts) > max_texts:
        raise PayloadTooLarge(
            f"too many texts: {len(texts):,} in one request, the limit is {max_texts:,} "
            "(--max-texts-per-request). Split them over several requests."
        )
    for i, t in enumerate(texts):
        parts = (t.values() if isinstance(t, dict) else t if isinstance(t, list) else [t])
        if any(isinstance(p, str) and len(p) > max_chars for p in parts):
            longest = max(len(p) for p in parts if isinstance(p, str))
            raise PayloadTooLarge(
                f"{key}[{i}] has {longest:,} characters, the limit is {max_chars:,} "
                "(--max-text-chars). Shorten it; the model reads only its first tokens anyway."
            )


_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
               list: "an array", dict: "an object", type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def describe_errors(errors: Any, fields: str = "'texts' and 'model'") -> str:
    """pydantic's error list -> one message naming each problem."""
    return "; ".join(_describe(e, fields) for e in errors)


def _describe(error: Any, fields: str = "'texts' and 'model'") -> str:
    """One pydantic error -> a sentence for a person."""
    kind, where, value = error["type"], _where(tuple(error["loc"])), error.get("input")
    if kind == "model_type":
        return (f'the body must be a JSON object like {{"texts": ["some text"]}}, '
                f"not {_json_type(value)}")
    if kind == "missing":
        return f'{where}: required (send {{"texts": ["some text"]}})'
    if kind == "extra_forbidden":
        return f"{where}: unknown field; the fields are {fields}"
    if kind == "literal_error" and where == "method":
        return f"method: must be 'ig' or 'occlusion' (or left out), not {value!r}"
    if kind == "list_type":
        return f"{where}: must be an array of strings, not {_json_type(value)}"
    if kind in ("too_short", "too_long") and where.startswith("pairs[") and isinstance(value, list):
        return f"{where}: a pair is two texts [first, second], not {len(value)}"
    if kind == "too_short" and where in ("pairs", "rows"):
        return f"{where}: the list is empty; send at least one"
    if kind == "too_short" and where == "texts":
        return "texts: the list is empty; send at least one text"
    if kind == "string_type":
        return f"{where}: must be a string, not {_json_type(value)}"
    if kind == "string_too_short":
        return f"{where}: empty string; every text needs at least one character"
    if kind == "string_pattern_mismatch":
        return f"{where}: only whitespace; every text needs at least one visible character"
    return f"{where}: {error['msg']}"
