"""Serving an ensemble run: the service answers what `lmforge.load(run)` predicts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lmforge
from tests.ensemble_parts import make_ensemble_run
from tests.serve.conftest import serve_app


@pytest.fixture(scope="module")
def ensemble_run(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ensemble_run(tiny_run, tmp_path_factory.mktemp("serve-ens") / "run", 0.3)


@pytest.fixture(scope="module")
def ensemble_client(ensemble_run: Path) -> Iterator[Any]:
    from lmforge.serve.app import create_app
    from lmforge.serve.config import ServeConfig

    c = serve_app(create_app([ensemble_run], ServeConfig()), raise_server_exceptions=False)
    yield c
    c.__exit__(None, None, None)


def test_service_answers_the_ensemble_probabilities(ensemble_client: Any,
                                                    ensemble_run: Path) -> None:
    # lengths far apart, so the batch is cut into several forward passes
    texts = ["great", "a dull and clumsy plot " * 12, "wonderful superb acting",
             "the film was boring " * 5, "ok"]
    r = ensemble_client.post("/v1/predict", json={"texts": texts})
    assert r.status_code == 200, r.text
    expected = lmforge.load(ensemble_run).predict_proba(texts)
    for p, row in zip(r.json()["predictions"], expected, strict=True):
        np.testing.assert_allclose([p["scores"]["neg"], p["scores"]["pos"]], row, atol=1e-5)
        assert p["label"] == ["neg", "pos"][int(np.argmax(row))]
    models = ensemble_client.get("/v1/models").json()["models"]
    assert models[0]["max_length"] == 64 and models[0]["labels"] == ["neg", "pos"]


def test_service_explains_an_ensemble_by_occlusion(ensemble_client: Any) -> None:
    r = ensemble_client.post("/v1/explain", json={"texts": ["a superb film"]})
    assert r.status_code == 200, r.text
    (e,) = r.json()["explanations"]
    assert e["method"] == "occlusion" and e["words"] == ["a", "superb", "film"]
    r = ensemble_client.post("/v1/explain", json={"texts": ["a superb film"], "method": "ig"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "config_error"
    assert "is an ensemble" in r.json()["error"]["message"]
