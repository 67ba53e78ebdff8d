"""Dynamic batching: callers get their own results in order, requests are grouped into
fewer forward passes, the queue is bounded (503 + Retry-After), a failing request does
not take the others down, and shutdown drains the queue."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lmforge.serve.app import create_app
from lmforge.serve.config import ServeConfig
from tests.serve.conftest import serve_app


def texts_for(request: int) -> list[str]:
    """Request i sends i+1 texts of different lengths, all unique to that request."""
    words = ["great", "awful", "plot", "acting", "boring", "moving", "cast", "story"]
    return [f"request {request} text {j} " + " ".join(words[(request + k) % 8]
                                                      for k in range(1 + (3 * j + request) % 17))
            for j in range(request + 1)]


def test_concurrent_requests_each_get_their_own_results_in_one_batch(
        tiny_run: Path, tiny_clf: Any) -> None:
    config = ServeConfig(max_batch_size=256, max_wait_ms=300, max_texts_per_request=32)
    client = serve_app(create_app([tiny_run], config))
    try:
        metrics = client.app.state.metrics
        start = threading.Barrier(20)

        def call(i: int) -> tuple[int, Any]:
            start.wait()
            return i, client.post("/v1/predict", json={"texts": texts_for(i)})

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(call, range(20)))
        total = sum(len(texts_for(i)) for i in range(20))
        for i, response in answers:
            assert response.status_code == 200, response.text
            predictions = response.json()["predictions"]
            expected = tiny_clf.predict_proba(texts_for(i))
            got = np.array([[p["scores"]["neg"], p["scores"]["pos"]] for p in predictions])
            np.testing.assert_allclose(got, expected, atol=1e-5)
        passes = metrics.sample("lmforge_batch_size_count", {"model": "run"})
        assert metrics.sample("lmforge_batch_size_sum", {"model": "run"}) == total == 210
        assert passes < 5, f"{passes} forward passes for 20 concurrent requests: not batched"
        assert metrics.sample("lmforge_batch_size_bucket", {"model": "run", "le": "32.0"}) == 0
    finally:
        client.__exit__(None, None, None)


def test_batches_never_exceed_max_batch_size(tiny_run: Path) -> None:
    config = ServeConfig(max_batch_size=4, max_wait_ms=50, max_texts_per_request=32)
    client = serve_app(create_app([tiny_run], config))
    try:
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(
                lambda i: client.post("/v1/predict", json={"texts": texts_for(i)}), range(5)))
        assert [len(a.json()["predictions"]) for a in answers] == [1, 2, 3, 4, 5]
        metrics = client.app.state.metrics
        passes = metrics.sample("lmforge_batch_size_count", {"model": "run"})
        assert metrics.sample("lmforge_batch_size_bucket", {"model": "run", "le": "4.0"}) == passes
        assert metrics.sample("lmforge_batch_size_sum", {"model": "run"}) == 15
    finally:
        client.__exit__(None, None, None)


class Gate:
    """Makes the model's forward pass wait until released, to hold the queue full."""

    def __init__(self, clf: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        original = clf.logits

        def logits(texts: list[str]) -> Any:
            self.started.set()
            assert self.release.wait(20), "test never released the model"
            return original(texts)

        monkeypatch.setattr(clf, "logits", logits)


def test_full_queue_is_503_with_retry_after(tiny_run: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = ServeConfig(max_batch_size=4, max_wait_ms=0, max_texts_per_request=4,
                         max_queue_texts=4, retry_after_s=3)
    client = serve_app(create_app([tiny_run], config))
    try:
        app = client.app
        gate = Gate(app.state.pool.models["run"].classifier, monkeypatch)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(client.post, "/v1/predict", json={"texts": ["a"] * 4})
            assert gate.started.wait(10)  # the model is busy with the first request
            second = pool.submit(client.post, "/v1/predict", json={"texts": ["b"] * 4})
            deadline = time.monotonic() + 10
            while app.state.pool.batchers["run"].queued < 4 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert 'lmforge_queue_depth{model="run"} 4.0' in client.get("/metrics").text
            full = client.post("/v1/predict", json={"texts": ["c"]})
            assert full.status_code == 503
            assert full.headers["retry-after"] == "3"
            assert full.json()["error"]["message"] == (
                "the queue of model 'run' is full (4 texts waiting, limit 4, --max-queue-texts). "
                "Retry after 3 s, or send fewer texts at once.")
            gate.release.set()
            assert first.result().status_code == 200 and second.result().status_code == 200
        assert client.post("/v1/predict", json={"texts": ["c"]}).status_code == 200
        assert app.state.metrics.sample("lmforge_queue_rejections_total", {"model": "run"}) == 1
    finally:
        client.__exit__(None, None, None)


def test_failing_request_in_a_batch_does_not_fail_the_others(
        tiny_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = ServeConfig(max_batch_size=64, max_wait_ms=300)
    client = serve_app(create_app([tiny_run], config), raise_server_exceptions=False)
    try:
        clf = client.app.state.pool.models["run"].classifier
        original = clf.logits
        seen: list[int] = []

        def logits(texts: list[str]) -> Any:
            seen.append(len(texts))
            if "BOOM" in texts:
                raise ValueError("bad input tensor")
            return original(texts)

        monkeypatch.setattr(clf, "logits", logits)
        bodies = [["ok 1", "ok 2"], ["BOOM"], ["ok 3"]]
        barrier = threading.Barrier(3)

        def call(texts: list[str]) -> Any:
            barrier.wait()
            return client.post("/v1/predict", json={"texts": texts})

        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(call, bodies))
        assert [a.status_code for a in answers] == [200, 500, 200]
        assert seen[0] == 4  # one pass for all three; it failed, so each ran alone
        assert sorted(seen[1:]) == [1, 1, 2]
    finally:
        client.__exit__(None, None, None)


def test_drain_finishes_queued_work_then_refuses_new(tmp_path: Path) -> None:
    """The batcher alone (no HTTP): what the app's shutdown does after uvicorn stops
    accepting. Queued texts are processed, in order, before the worker stops."""
    import asyncio

    from lmforge.serve.errors import Unavailable
    from lmforge.serve.metrics import ServeMetrics
    from lmforge.serve.predictor import Batcher, ServedModel

    passes: list[list[str]] = []

    def predict(classifier: Any, texts: list[str]) -> list[Any]:
        time.sleep(0.05)  # a slow model: the queue fills while it works
        passes.append(texts)
        return [t.upper() for t in texts]

    async def scenario() -> tuple[list[Any], str]:
        config = ServeConfig(max_batch_size=3, max_wait_ms=1000)
        executor = ThreadPoolExecutor(1)
        batcher = Batcher(ServedModel("m", tmp_path, state="ready"), executor, config,
                          ServeMetrics(), predict=predict)
        batcher.start()
        jobs = [asyncio.ensure_future(batcher.submit([f"r{i}a", f"r{i}b"], f"id{i}"))
                for i in range(4)]
        await asyncio.sleep(0.01)
        await batcher.drain(timeout_s=10)  # does not wait max_wait_ms for fuller batches
        try:
            await batcher.submit(["late"], "id-late")
            refused = ""
        except Unavailable as exc:
            refused = str(exc)
        executor.shutdown()
        return await asyncio.gather(*jobs), refused

    started = time.monotonic()
    results, refused = asyncio.run(scenario())
    assert time.monotonic() - started < 1.0
    assert results == [[f"R{i}A", f"R{i}B"] for i in range(4)]
    assert [len(p) for p in passes] == [3, 3, 2]
    assert refused.startswith("the server is shutting down")


def test_drain_gives_up_after_its_timeout(tmp_path: Path) -> None:
    import asyncio

    from lmforge.serve.errors import Unavailable
    from lmforge.serve.metrics import ServeMetrics
    from lmforge.serve.predictor import Batcher, ServedModel

    def predict(classifier: Any, texts: list[str]) -> list[Any]:
        time.sleep(0.3)
        return texts

    async def scenario() -> list[Any]:
        config = ServeConfig(max_batch_size=1, max_wait_ms=0)
        executor = ThreadPoolExecutor(1)
        batcher = Batcher(ServedModel("m", tmp_path, state="ready"), executor, config,
                          ServeMetrics(), predict=predict)
        batcher.start()
        jobs = [asyncio.ensure_future(batcher.submit([f"t{i}"], f"id{i}")) for i in range(5)]
        await asyncio.sleep(0.01)
        await batcher.drain(timeout_s=0.1)
        executor.shutdown(wait=False, cancel_futures=True)
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = asyncio.run(scenario())
    assert any(isinstance(r, Unavailable) for r in results)
