"""schemathesis against the app's own OpenAPI spec, on a live loopback server: valid and
invalid generated requests to every operation; no 5xx, and every response (status code,
content type, headers, body) matches the schema. With an API key, schemathesis also
checks that requests without it are refused. Bounded: 25 examples per operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.conftest import LiveServer

EXAMPLES = 25
KEY = "fuzz-key"


@pytest.fixture(scope="module")
def secured_server(tiny_run: Path) -> Iterator[LiveServer]:
    from lmforge.serve.app import create_app
    from lmforge.serve.config import ServeConfig

    with LiveServer(create_app([tiny_run], ServeConfig(api_key=KEY))) as server:
        yield server


def fuzz(server: LiveServer, mode: str, headers: dict[str, str] | None = None) -> dict[str, set[int]]:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [op.ok() for op in schema.get_all_operations()]
    assert sorted(op.label for op in operations) == [
        "GET /health", "GET /metrics", "GET /ready", "GET /v1/models",
        "GET /v1/models/{name}/card", "GET /v1/models/{name}/report", "POST /v1/explain",
        "POST /v1/predict"]
    seen: dict[str, set[int]] = {}

    def run(operation: Any) -> None:
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
        def check(case: Any) -> None:
            response = case.call_and_validate(base_url=server.url, headers=headers)
            assert response.status_code < 500, response.text
            seen.setdefault(operation.label, set()).add(response.status_code)

        check()

    for operation in operations:
        if mode == "negative" and operation.method.upper() == "GET":
            continue  # the GETs take no input: nothing to make invalid
        run(operation)
    return seen


def test_valid_requests_succeed_and_match_the_schema(live_server: LiveServer) -> None:
    seen = fuzz(live_server, "positive")
    # 404: a generated model name that is not served; 413: a generated list over 256 texts
    assert seen["POST /v1/predict"] <= {200, 404, 413}
    assert 200 in seen["POST /v1/predict"]
    # 404: a generated model name; 413: over 16 texts; 422: a text that is empty once cleaned
    # has nothing to explain
    assert seen["POST /v1/explain"] <= {200, 404, 413, 422} and 200 in seen["POST /v1/explain"]
    assert seen["GET /v1/models"] == seen["GET /health"] == seen["GET /ready"] == {200}
    # the tiny run has neither report.md nor README.md; other names are not served
    assert seen["GET /v1/models/{name}/report"] == seen["GET /v1/models/{name}/card"] == {404}


def test_invalid_requests_are_4xx_and_match_the_schema(live_server: LiveServer) -> None:
    seen = fuzz(live_server, "negative")
    assert seen["POST /v1/predict"] <= {400, 413, 422}
    assert seen["POST /v1/explain"] <= {400, 413, 422}


def test_with_an_api_key(secured_server: LiveServer) -> None:
    seen = fuzz(secured_server, "positive", {"Authorization": f"Bearer {KEY}"})
    assert 200 in seen["POST /v1/predict"] and seen["GET /v1/models"] == {200}
