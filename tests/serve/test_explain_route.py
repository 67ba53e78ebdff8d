"""POST /v1/explain through TestClient: the answer's shape, the same validation and error
shape as /v1/predict, the explain limit, ONNX runs, and the OpenAPI listing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.conftest import make_run, serve_app
from tests.serve.test_routes import error_of


def test_explain_answers_words_scores_target_and_probabilities(client: Any) -> None:
    r = client.post("/v1/explain", json={"texts": ["A gripping, well-made film.", "dull"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "run" and body["task"] == "single"
    first, second = body["explanations"]
    assert [first["index"], second["index"]] == [0, 1]
    assert first["words"] == ["A", "gripping", ",", "well", "-", "made", "film", "."]
    assert [first["text"][s:e] for s, e in first["spans"]] == first["words"]
    assert len(first["scores"]) == len(first["words"])
    assert first["method"] == "ig" and first["steps"] >= 50 and first["completeness_gap"] < 0.01
    predicted = client.post("/v1/predict", json={"texts": ["A gripping, well-made film."]}).json()
    assert first["label"] == first["target"] == predicted["predictions"][0]["label"]
    assert first["probabilities"] == pytest.approx(predicted["predictions"][0]["scores"], abs=1e-5)
    assert first["truncated"] is False and first["dropped_words"] == []


def test_occlusion_method_and_truncation(client: Any) -> None:
    long_text = " ".join(f"w{i}" for i in range(40))  # max_length 64; "w12" is w + ##12
    r = client.post("/v1/explain", json={"texts": [long_text], "method": "occlusion"})
    assert r.status_code == 200, r.text
    (e,) = r.json()["explanations"]
    assert e["method"] == "occlusion" and "steps" not in e and "completeness_gap" not in e
    assert e["truncated"] is True and e["dropped_words"]
    assert e["words"][0] == "w0" and e["words"][-1] == "w39"
    assert len(e["words"]) + len(e["dropped_words"]) == 40


@pytest.mark.parametrize(("body", "status", "kind", "message"), [
    ({"texts": []}, 422, "invalid_request", "texts: the list is empty; send at least one text"),
    ({"texts": [" "]}, 422, "invalid_request",
     "texts[0]: only whitespace; every text needs at least one visible character"),
    ({"texts": ["ok"], "method": "shap"}, 422, "invalid_request",
     "method: must be 'ig' or 'occlusion' (or left out), not 'shap'"),
    ({"text": ["typo"]}, 422, "invalid_request", 'texts: required (send {"texts": ["some '
     'text"]}); text: unknown field; the fields are \'texts\', \'model\', \'method\' and '
     "'word'"),
    ({"texts": ["ok", "<br>"]}, 422, "data_error",
     "text #1 is empty after cleaning (HTML tags, control characters and spaces are removed): "
     "there is nothing to explain. Give a text with at least one word."),
    ({"texts": ["ok"], "model": "nope"}, 404, "not_found",
     "model 'nope' is not served here; served: run (GET /v1/models)"),
    ({"texts": ["x"] * 9}, 413, "payload_too_large",
     "too many texts: 9 in one request, the limit is 8 (--max-texts-per-request). "
     "Split them over several requests."),
    ({"texts": ["y" * 201]}, 413, "payload_too_large",
     "texts[0] has 201 characters, the limit is 200 (--max-text-chars). "
     "Shorten it; the model reads only its first tokens anyway."),
])
def test_explain_validates_like_predict(client: Any, body: Any, status: int, kind: str,
                                        message: str) -> None:
    assert error_of(client.post("/v1/explain", json=body), status, kind) == message


def test_explain_takes_at_most_16_texts(tiny_run: Path) -> None:
    from lmforge.serve.app import create_app

    c = serve_app(create_app([tiny_run]), raise_server_exceptions=False)
    try:
        r = c.post("/v1/explain", json={"texts": ["x"] * 17})
        assert error_of(r, 413, "payload_too_large") == (
            "too many texts to explain: 17 in one request, the limit is 16 (each explanation "
            "takes tens of forward passes). Split them over several requests.")
        assert c.post("/v1/explain", json={"texts": ["x"] * 16}).status_code == 200
    finally:
        c.__exit__(None, None, None)


@pytest.fixture(scope="module")
def onnx_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run
    from lmforge.serve.app import create_app

    root = tmp_path_factory.mktemp("explain-onnx")
    run = make_run(root)
    test_csv = root / "test.csv"
    test_csv.write_text("text,label\nthe film was superb,pos\nthe plot was awful,neg\n",
                        encoding="utf-8")
    export_run(ExportConfig(run_dir=str(run), out=str(root / "onnx"), data=str(test_csv),
                            threads=1, latency_runs=3, throughput_texts=64))
    c = serve_app(create_app([root / "onnx"]), raise_server_exceptions=False)
    yield c
    c.__exit__(None, None, None)


def test_onnx_runs_default_to_occlusion_and_refuse_ig(onnx_client: Any) -> None:
    r = onnx_client.post("/v1/explain", json={"texts": ["the film was superb"]})
    assert r.status_code == 200, r.text
    assert r.json()["explanations"][0]["method"] == "occlusion"
    message = error_of(onnx_client.post("/v1/explain", json={"texts": ["x"], "method": "ig"}),
                       422, "config_error")
    assert "holds an ONNX model (no gradients). Use --method occlusion" in message


def test_tfidf_runs_are_explained_by_their_linear_weights(tmp_path: Path) -> None:
    import lmforge
    from lmforge.serve.app import create_app
    from tests.conftest import sentiment_rows, write_csv

    data = write_csv(tmp_path / "d.csv", sentiment_rows(80))
    run = lmforge.train(data=str(data), out=str(tmp_path / "tfidf"), model="tfidf",
                        show_progress=False).run_dir
    c = serve_app(create_app([run]), raise_server_exceptions=False)
    try:
        r = c.post("/v1/explain", json={"texts": ["a great and moving film"]})
        assert r.status_code == 200, r.text
        (e,) = r.json()["explanations"]
        assert e["method"] == "linear" and e["words"] == ["a", "great", "and", "moving", "film"]
        assert len(e["scores"]) == 5 and e["label"] == e["target"]
        occlusion = c.post("/v1/explain", json={"texts": ["a great film"], "method": "occlusion"})
        assert occlusion.status_code == 200 and occlusion.json()["explanations"][0]["method"] == "occlusion"
        message = error_of(c.post("/v1/explain", json={"texts": ["x"], "method": "ig"}), 422,
                           "config_error")
        assert "occlusion" in message
    finally:
        c.__exit__(None, None, None)


def test_explain_is_in_the_openapi_schema(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/explain"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"texts", "model", "method"}  # word: token runs only
    assert {"200", "413", "422", "503"} <= set(operation["responses"])


def test_explaining_does_not_hold_up_predictions(client: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import lmforge.serve.predictor as predictor

    release, started = threading.Event(), threading.Event()
    real = predictor.explain_texts

    def slow(classifier: Any, texts: Any, method: Any, word: Any) -> Any:
        started.set()
        assert release.wait(30)
        return real(classifier, texts, method, word)

    monkeypatch.setattr(predictor, "explain_texts", slow)
    monkeypatch.setattr(predictor, "MAX_WAITING_EXPLANATIONS", 1)
    answers: list[Any] = []
    worker = threading.Thread(target=lambda: answers.append(
        client.post("/v1/explain", json={"texts": ["slow one"]})))
    worker.start()
    try:
        assert started.wait(30)
        # the explanation is running: predictions still go through the batcher at once ...
        assert client.post("/v1/predict", json={"texts": ["quick"]}).status_code == 200
        # ... and explanations beyond the limit are refused, to retry later
        r = client.post("/v1/explain", json={"texts": ["one more"]})
        assert error_of(r, 503, "unavailable").startswith(
            "1 explanations are being computed or waiting (limit 1); retry after")
        assert r.headers["retry-after"]
    finally:
        release.set()
        worker.join(30)
    assert answers[0].status_code == 200 and answers[0].json()["explanations"][0]["words"] == [
        "slow", "one"]
