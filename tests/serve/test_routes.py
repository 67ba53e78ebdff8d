"""Every route and every error of the service, through FastAPI's TestClient."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.serve.conftest import make_run, serve_app


def error_of(response: Any, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["type"] == kind
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return str(body["error"]["message"])


def test_predict_returns_label_and_scores_in_order(client: Any, tiny_clf: Any) -> None:
    texts = ["a gripping, beautifully acted film", "dull", "the plot was quite clumsy and long"]
    r = client.post("/v1/predict", json={"texts": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "run" and body["task"] == "single"
    assert len(body["predictions"]) == 3
    expected = tiny_clf.predict_proba(texts)
    for p, row in zip(body["predictions"], expected, strict=True):
        assert set(p) == {"label", "scores"}
        assert list(p["scores"]) == ["neg", "pos"]
        np.testing.assert_allclose([p["scores"]["neg"], p["scores"]["pos"]], row, atol=1e-5)
        assert p["label"] == ["neg", "pos"][int(np.argmax(row))]


def test_predict_by_model_name(client: Any) -> None:
    r = client.post("/v1/predict", json={"texts": ["fine"], "model": "run"})
    assert r.status_code == 200 and r.json()["model"] == "run"


def test_models_lists_the_run_and_the_limits(client: Any) -> None:
    r = client.get("/v1/models")
    assert r.status_code == 200
    assert r.json() == {
        "models": [{"name": "run", "task": "single", "labels": ["neg", "pos"], "default": True,
                    "ready": True, "max_length": 64, "inputs": ["text"], "pair": False,
                    "example": None, "report": None, "card": None}],
        "limits": {"max_texts_per_request": 8, "max_text_chars": 200, "max_body_bytes": 4096,
                   "max_batch_size": 32},
    }


def test_health_ready_metrics_docs_openapi_page(client: Any) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready", "models": {"run": "ready"}}
    client.post("/v1/predict", json={"texts": ["one", "two"]})
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'lmforge_http_requests_total{method="POST",route="/v1/predict",status="200"}' in text
    assert 'lmforge_http_request_duration_seconds_bucket{le="0.001",route="/v1/predict"}' in text
    assert 'lmforge_batch_size_count{model="run"}' in text
    assert 'lmforge_queue_depth{model="run"} 0.0' in text
    assert "swagger" in client.get("/docs").text.lower()
    spec = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/models", "/health", "/ready", "/metrics"} <= set(spec["paths"])
    body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    # a one-text model is served: the body lists only texts (test_pairs checks pairs and rows)
    assert body["schema"]["required"] == ["texts"]
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="predict"' in page.text and "http" not in page.text.split("<script>")[1]


def test_request_id_is_echoed_or_made(client: Any) -> None:
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers[
        "x-request-id"] == "abc-123"
    made = client.get("/health", headers={"X-Request-ID": "no spaces <allowed>"})
    assert len(made.headers["x-request-id"]) == 16


@pytest.mark.parametrize(("body", "message"), [
    ({"texts": []}, "texts: the list is empty; send at least one text"),
    ({"texts": [""]}, "texts[0]: empty string; every text needs at least one character"),
    ({"texts": ["ok", " \n\t"]},
     "texts[1]: only whitespace; every text needs at least one visible character"),
    ({"texts": ["ok", 3]}, "texts[1]: must be a string, not a number"),
    ({"texts": "a single string"}, "texts: must be an array of strings, not a string"),
    ({"texts": None}, "texts: must be an array of strings, not null"),
    ({}, 'texts: required (send {"texts": ["some text"]})'),
    ({"text": ["typo"]}, 'texts: required (send {"texts": ["some text"]}); '
                         "text: unknown field; the fields are 'texts' and 'model'"),
    ({"texts": ["ok"], "model": 7}, "model: must be a string, not a number"),
    (["ok"], 'the body must be a JSON object like {"texts": ["some text"]}, not an array'),
])
def test_invalid_requests_are_422_with_the_problem_named(client: Any, body: Any,
                                                         message: str) -> None:
    assert error_of(client.post("/v1/predict", json=body), 422, "invalid_request") == message


def test_invalid_json_is_422(client: Any) -> None:
    r = client.post("/v1/predict", content=b'{"texts": ["a",]}',
                    headers={"Content-Type": "application/json"})
    assert error_of(r, 422, "invalid_request") == (
        "the request body is not valid JSON: Expecting value at line 1 column 16. "
        'Send JSON like {"texts": ["some text"]}.')
    r = client.post("/v1/predict", content=b"")
    assert "the request body is empty" in error_of(r, 422, "invalid_request")


def test_non_utf8_body_is_400(client: Any) -> None:
    r = client.post("/v1/predict", content='{"texts": ["café"]}'.encode("latin-1"),
                    headers={"Content-Type": "application/json"})
    assert error_of(r, 400, "bad_request") == (
        "the request body is not valid UTF-8 (byte 0xe9 at offset 15). "
        "Send JSON encoded as UTF-8.")


def test_utf8_with_bom_and_non_ascii_texts_are_fine(client: Any) -> None:
    r = client.post("/v1/predict", content=b"\xef\xbb\xbf" + '{"texts": ["très bien 好"]}'.encode())
    assert r.status_code == 200, r.text


def test_limits_are_413_naming_the_limit(client: Any) -> None:
    r = client.post("/v1/predict", json={"texts": ["x"] * 9})
    assert error_of(r, 413, "payload_too_large") == (
        "too many texts: 9 in one request, the limit is 8 (--max-texts-per-request). "
        "Split them over several requests.")
    r = client.post("/v1/predict", json={"texts": ["ok", "y" * 201]})
    assert error_of(r, 413, "payload_too_large") == (
        "texts[1] has 201 characters, the limit is 200 (--max-text-chars). "
        "Shorten it; the model reads only its first tokens anyway.")
    r = client.post("/v1/predict", json={"texts": ["z" * 100] * 50})
    assert error_of(r, 413, "payload_too_large") == (
        "the request body is over 4,096 bytes (--max-body-bytes). "
        "Send fewer or shorter texts per request.")


def test_chunked_body_over_the_limit_is_413_while_streaming(client: Any) -> None:
    sent = []

    def chunks() -> Any:
        for _ in range(100):  # 100 x 1 KiB, no Content-Length
            sent.append(1)
            yield b" " * 1024

    r = client.post("/v1/predict", content=chunks())
    assert error_of(r, 413, "payload_too_large").startswith("the request body is over 4,096")


def test_unknown_model_is_404(client: Any) -> None:
    r = client.post("/v1/predict", json={"texts": ["ok"], "model": "nope"})
    assert error_of(r, 404, "not_found") == (
        "model 'nope' is not served here; served: run (GET /v1/models)")


def test_unknown_path_and_wrong_method(client: Any) -> None:
    assert error_of(client.get("/v2/predict"), 404, "not_found").startswith(
        "no such path: GET /v2/predict.")
    r = client.get("/v1/predict")
    assert error_of(r, 405, "method_not_allowed") == (
        "GET is not allowed on /v1/predict; use POST")
    assert r.headers["allow"] == "POST"


def test_errors_are_counted_by_route_and_status(client: Any) -> None:
    client.post("/v1/predict", json={"texts": []})
    client.get("/nowhere")
    text = client.get("/metrics").text
    assert 'lmforge_http_requests_total{method="POST",route="/v1/predict",status="422"}' in text
    assert 'lmforge_http_requests_total{method="GET",route="unmatched",status="404"}' in text


def test_model_exception_is_500_with_request_id_logged_and_serving_goes_on(
        client: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    clf = client.app.state.pool.models["run"].classifier
    original = clf.logits

    def logits(texts: list[str]) -> Any:
        if any("BOOM" in t for t in texts):
            raise RuntimeError("CUDA exploded")
        return original(texts)

    monkeypatch.setattr(clf, "logits", logits)
    caplog.set_level("ERROR", logger="lmforge.serve")
    r = client.post("/v1/predict", json={"texts": ["fine", "BOOM"]},
                    headers={"X-Request-ID": "req-boom-1"})
    assert error_of(r, 500, "model_error") == (
        "the model 'run' failed on this request (RuntimeError). Request id req-boom-1: "
        "the server log has the details.")
    logged = [rec for rec in caplog.records if "req-boom-1" in rec.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "CUDA exploded" in caplog.text
    assert client.post("/v1/predict", json={"texts": ["still serving"]}).status_code == 200
    assert client.app.state.metrics.sample("lmforge_model_errors_total", {"model": "run"}) >= 1


def test_typed_error_from_the_model_keeps_its_status(client: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from lmforge.errors import DataError

    clf = client.app.state.pool.models["run"].classifier

    def logits(texts: list[str]) -> Any:
        raise DataError("text #0 cannot be read")

    monkeypatch.setattr(clf, "logits", logits)
    r = client.post("/v1/predict", json={"texts": ["x"]})
    assert error_of(r, 422, "data_error") == "text #0 cannot be read"


def test_bug_in_a_route_is_500_json_with_request_id(client: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise KeyError("oops")

    monkeypatch.setattr(client.app.state.pool, "readiness", broken)
    r = client.get("/ready", headers={"X-Request-ID": "req-bug-2"})
    assert error_of(r, 500, "internal_error") == (
        "internal error (KeyError). Request id req-bug-2: the server log has the details.")


def test_several_models_default_is_first_and_named_choice(tmp_path: Path) -> None:
    from lmforge.serve.app import create_app

    a = make_run(tmp_path / "a", labels=("neg", "pos"))
    b = make_run(tmp_path / "b", labels=("sport", "politics", "tech"), seed=1)
    c = serve_app(create_app([f"sentiment={a}", f"topics={b}"]))
    try:
        listed = c.get("/v1/models").json()["models"]
        assert [(m["name"], m["default"], m["labels"]) for m in listed] == [
            ("sentiment", True, ["neg", "pos"]), ("topics", False, ["sport", "politics", "tech"])]
        assert c.post("/v1/predict", json={"texts": ["x"]}).json()["model"] == "sentiment"
        r = c.post("/v1/predict", json={"texts": ["x"], "model": "topics"}).json()
        assert r["model"] == "topics" and list(r["predictions"][0]["scores"]) == [
            "sport", "politics", "tech"]
    finally:
        c.__exit__(None, None, None)


def test_multi_label_and_regression_runs(tmp_path: Path) -> None:
    from lmforge.serve.app import create_app

    multi = make_run(tmp_path / "m", labels=("a", "b", "c"), task="multi")
    reg = make_run(tmp_path / "r", task="regression")
    c = serve_app(create_app([f"multi={multi}", f"reg={reg}"]))
    try:
        p = c.post("/v1/predict", json={"texts": ["x"], "model": "multi"}).json()
        assert p["task"] == "multi" and set(p["predictions"][0]) == {"labels", "scores"}
        assert all(0 <= v <= 1 for v in p["predictions"][0]["scores"].values())
        v = c.post("/v1/predict", json={"texts": ["x", "y"], "model": "reg"}).json()
        assert v["task"] == "regression"
        assert [set(x) for x in v["predictions"]] == [{"value"}, {"value"}]
    finally:
        c.__exit__(None, None, None)


def test_not_ready_while_loading_then_ready(tiny_run: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from fastapi.testclient import TestClient

    from lmforge.serve.app import create_app
    from lmforge.serve.predictor import ServedModel

    release = threading.Event()
    original = ServedModel.load

    def slow_load(self: ServedModel, batch_size: int) -> None:
        release.wait(10)
        original(self, batch_size)

    monkeypatch.setattr(ServedModel, "load", slow_load)
    with TestClient(create_app([tiny_run])) as c:
        assert c.get("/health").status_code == 200
        r = c.get("/ready")
        assert r.status_code == 503 and r.json() == {"status": "loading",
                                                     "models": {"run": "loading"}}
        busy = c.post("/v1/predict", json={"texts": ["x"]})
        assert error_of(busy, 503, "unavailable").startswith("model 'run' is still loading")
        assert busy.headers["retry-after"] == "2"
        assert c.get("/v1/models").json()["models"][0]["task"] is None
        release.set()
        from tests.serve.conftest import wait_ready

        wait_ready(c)
        assert c.post("/v1/predict", json={"texts": ["x"]}).status_code == 200


def test_model_that_fails_to_load_is_reported(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from lmforge.serve.app import create_app

    run = make_run(tmp_path)
    (run / "model" / "model.safetensors").write_bytes(b"not weights")
    with TestClient(create_app([run])) as c:
        import time

        deadline = time.monotonic() + 20
        while c.get("/ready").json()["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.02)
        r = c.get("/ready")
        assert r.status_code == 503 and r.json()["status"] == "failed"
        msg = error_of(c.post("/v1/predict", json={"texts": ["x"]}), 500, "model_error")
        assert msg.startswith("model 'run' failed to load (")


def test_the_predict_schema_lists_only_what_the_served_models_read() -> None:
    from lmforge.serve.protocol import PairsRequest, PredictRequest, RowsRequest
    from lmforge.serve.routes import narrow_predict_schema

    def body(*settings: dict) -> dict:
        schema = {"paths": {"/v1/predict": {"post": {"requestBody": {"content": {"application/json": {
            "schema": {"anyOf": [k.model_json_schema() for k in (PredictRequest, PairsRequest,
                                                                  RowsRequest)]}}}}}}}}
        narrow_predict_schema(schema, list(settings))
        return schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]

    assert body({"text_col": "review"})["required"] == ["texts"]
    pair = body({"pair": "premise,hypothesis"})
    assert [s["required"] for s in pair["anyOf"]] == [["pairs"], ["rows"]]
    row = pair["anyOf"][1]["properties"]["rows"]["items"]
    assert row["required"] == ["premise", "hypothesis"] and row["additionalProperties"] is False
    both = body({"text_col": "title,text"}, {"pair": "a,b"})
    assert [s["required"] for s in both["anyOf"]] == [["texts"], ["pairs"], ["rows"]]
    assert "required" not in both["anyOf"][2]["properties"]["rows"]["items"]  # two column sets
