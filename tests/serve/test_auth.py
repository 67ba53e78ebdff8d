"""--api-key / LMFORGE_API_KEY: Bearer token on /v1/*, constant-time compare, probes open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmforge.serve.app import create_app
from lmforge.serve.config import ServeConfig
from tests.serve.conftest import serve_app

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def secured(tiny_run: Path) -> Iterator[Any]:
    c = serve_app(create_app([tiny_run], ServeConfig(api_key=KEY)))
    yield c
    c.__exit__(None, None, None)


def test_v1_needs_the_key(secured: Any) -> None:
    for method, path in (("post", "/v1/predict"), ("get", "/v1/models")):
        r = getattr(secured, method)(path, **({"json": {"texts": ["x"]}} if method == "post" else {}))
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["type"] == "unauthorized"
        assert r.json()["error"]["message"] == (
            "this server needs an API key: send the header 'Authorization: Bearer YOUR_KEY'")


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer s3cret-ke", "Bearer s3cret-key2",
                                    "Basic czNjcmV0LWtleQ==", "s3cret-key"])
def test_wrong_or_malformed_key_is_401(secured: Any, header: str) -> None:
    r = secured.post("/v1/predict", json={"texts": ["x"]}, headers={"Authorization": header})
    assert r.status_code == 401, header


def test_right_key_works_and_is_checked_before_the_body(secured: Any) -> None:
    ok = {"Authorization": f"Bearer {KEY}"}
    assert secured.post("/v1/predict", json={"texts": ["x"]}, headers=ok).status_code == 200
    assert secured.get("/v1/models", headers=ok).status_code == 200
    # unauthenticated garbage is refused for the key, not parsed
    assert secured.post("/v1/predict", content=b"\xff\xfe").status_code == 401


def test_key_is_compared_in_constant_time(secured: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    from lmforge.serve import routes

    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(routes.hmac, "compare_digest", spy)
    secured.get("/v1/models", headers={"Authorization": "Bearer guess"})
    assert calls == [(b"guess", KEY.encode())]


def test_probes_metrics_docs_and_page_stay_open(secured: Any) -> None:
    for path in ("/health", "/ready", "/metrics", "/", "/docs", "/openapi.json"):
        assert secured.get(path).status_code == 200, path
    schemes = secured.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes == {"HTTPBearer": {"type": "http", "scheme": "bearer", "description": (
        "Needed when the server was started with --api-key or LMFORGE_API_KEY.")}}


def test_auth_off_needs_no_header(client: Any) -> None:
    assert client.post("/v1/predict", json={"texts": ["x"]}).status_code == 200
    assert client.get("/v1/models").status_code == 200


def test_key_from_flag_or_environment() -> None:
    import argparse

    from lmforge.serve.cli import add_serve_cli, config_from_args

    parser = argparse.ArgumentParser()
    add_serve_cli(parser.add_subparsers())
    from_env = config_from_args(parser.parse_args(["serve", "run"]), {"LMFORGE_API_KEY": "env"})
    assert from_env.api_key == "env"
    flag = config_from_args(parser.parse_args(["serve", "run", "--api-key", "flag"]),
                            {"LMFORGE_API_KEY": "env"})
    assert flag.api_key == "flag"
    assert config_from_args(parser.parse_args(["serve", "run"]), {}).api_key is None
