"""Client of a running ``lmforge serve``: what ``lmforge predict --server URL`` calls.

Standard library only (urllib), so using a server needs nothing installed beyond lmforge.
Texts are sent in chunks that respect the server's limits (from GET /v1/models); a 503
(queue full, model loading) is retried after the server's Retry-After.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lmforge.errors import ConfigError
from lmforge.serve.errors import RemoteError

log = logging.getLogger(__name__)


@dataclass
class RemoteModel:
    """A served model as the client sees it; has ``task`` and ``labels`` like a Classifier."""

    url: str
    name: str
    task: str
    labels: list[str]
    max_texts_per_request: int
    max_body_bytes: int
    inputs: list[str] = field(default_factory=lambda: ["text"])  # GET /v1/models "inputs"
    pair: bool = False

    @property
    def settings(self) -> dict[str, Any]:
        """The served run's columns as its config.yaml names them (``data.read_inputs``)."""
        columns = ",".join(self.inputs)
        return {"pair": columns if self.pair else None, "text_col": None if self.pair else columns}


def describe_remote(url: str, api_key: str | None = None, model: str | None = None,
                    timeout: float = 30.0) -> RemoteModel:
    """The model ``model`` (default: the server's default) and the server's limits."""
    base = _base_url(url)
    waited = 0.0
    while True:
        body = _request(base, "GET", "/v1/models", None, api_key, timeout)
        served = body["models"]
        chosen = next((m for m in served if (m["name"] == model if model else m["default"])),
                      None)
        if chosen is None:
            raise RemoteError(f"the server at {base} does not serve a model named '{model}'; "
                              f"it serves: {', '.join(m['name'] for m in served)}")
        if chosen["ready"]:
            break
        if waited >= timeout:
            raise RemoteError(f"model '{chosen['name']}' at {base} is still not ready after "
                              f"{waited:.0f} s (GET /ready); try again when it is")
        log.info("model '%s' at %s is loading; waiting", chosen["name"], base)
        time.sleep(1.0)
        waited += 1.0
    limits = body["limits"]
    return RemoteModel(url=base, name=chosen["name"], task=chosen["task"] or "single",
                       labels=list(chosen["labels"]),
                       max_texts_per_request=int(limits["max_texts_per_request"]),
                       max_body_bytes=int(limits["max_body_bytes"]),
                       inputs=list(chosen.get("inputs") or ["text"]),
                       pair=bool(chosen.get("pair")))


def predict_remote(url: str, texts: Sequence[str], api_key: str | None = None,
                   model: str | None = None, timeout: float = 60.0,
                   retries: int = 5) -> list[dict[str, Any]]:
    """Rows shaped like ``lmforge.inference.rows.prediction_rows``: ``{"text", "label", "prob_<label>"...}``
    (multi-label: labels joined by "|"; regression: ``{"text", "value"}``), in input order."""
    texts = list(texts)
    if not texts:
        return []
    return predict_described(describe_remote(url, api_key, model, timeout), texts, api_key,
                             timeout, retries)


def predict_described(remote: RemoteModel, texts: Sequence[str], api_key: str | None = None,
                      timeout: float = 60.0, retries: int = 5) -> list[dict[str, Any]]:
    """``predict_remote`` for a model already described (``describe_remote``): what
    ``lmforge predict --server`` calls for each chunk of its input."""
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(list(texts), remote.max_texts_per_request, remote.max_body_bytes):
        payload = {**_inputs_payload(chunk, remote), "model": remote.name}
        answer = _request(remote.url, "POST", "/v1/predict", payload, api_key, timeout, retries)
        for text, p in zip(chunk, answer["predictions"], strict=True):
            rows.append(_row(text, p, answer["task"], remote.labels))
    return rows


def _inputs_payload(texts: list[str], remote: RemoteModel) -> dict[str, Any]:
    """``texts``, or the ``pairs``/``rows`` of inputs read from several columns (data.pairs)."""
    from lmforge.data.pairs import JOIN_MARK, is_pair, split_pair

    if any(is_pair(t) for t in texts):
        return {"pairs": [list(split_pair(t)) for t in texts]}
    if len(remote.inputs) > 1 and any(JOIN_MARK in t for t in texts):
        rows = []
        for t in texts:
            cells = t.split(JOIN_MARK)
            rows.append(dict(zip(remote.inputs, cells + [""] * (len(remote.inputs) - len(cells)),
                                 strict=False)))
        return {"rows": rows}
    return {"texts": texts}


def _row(text: str, prediction: dict[str, Any], task: str, labels: list[str]) -> dict[str, Any]:
    from lmforge.inference.rows import prediction_row

    if task == "tokens":  # a token run: entities with offsets, tokens, spans, tags
        return {"text": text, **prediction}
    if task == "regression":
        return prediction_row(text, task, value=prediction["value"])
    label = prediction["label"] if task == "single" else prediction["labels"]
    return prediction_row(text, task, label, {name: prediction["scores"][name] for name in labels})


def _chunks(texts: list[str], max_texts: int, max_bytes: int) -> Iterator[list[str]]:
    """Consecutive chunks under both the count and (with room for the JSON frame) byte limits."""
    budget = max(1, int(max_bytes * 0.9) - 256)
    chunk: list[str] = []
    size = 0
    for text in texts:
        n = len(json.dumps(text, ensure_ascii=False).encode("utf-8")) + 2
        if chunk and (len(chunk) >= max_texts or size + n > budget):
            yield chunk
            chunk, size = [], 0
        chunk.append(text)
        size += n
    if chunk:
        yield chunk


def _base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--server {url}: expected an http:// or https:// URL, e.g. "
                          "http://127.0.0.1:8000")
    return url


def _request(base: str, method: str, path: str, payload: Any, api_key: str | None,
             timeout: float, retries: int = 0) -> Any:
    headers = {"Accept": "application/json"}
    data = None
    if payload is not None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    for attempt in range(retries + 1):
        request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
            try:
                return json.loads(raw.decode("utf-8"))
            except ValueError:
                raise RemoteError(f"{base}{path} did not answer JSON; is it an lmforge server "
                                  "(lmforge serve)?") from None
        except urllib.error.HTTPError as exc:
            message = _error_message(exc)
            if exc.code == 503 and attempt < retries:
                wait = _retry_after(exc)
                log.info("server busy (%s); retrying in %.0f s", message, wait)
                time.sleep(wait)
                continue
            raise RemoteError(f"the server at {base} answered {exc.code} to {method} {path}: "
                              f"{message}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"cannot reach the lmforge server at {base} ({reason}). Is "
                              "`lmforge serve` running there?") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read().decode("utf-8"))["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return str(exc.reason)


def _retry_after(exc: urllib.error.HTTPError) -> float:
    try:
        return min(30.0, max(0.1, float(exc.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0
