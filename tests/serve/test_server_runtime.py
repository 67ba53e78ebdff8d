"""What the real server runs on: uvicorn's C HTTP parser and event loop (both pinned
dependencies; without them uvicorn falls back, silently, to pure-Python h11 and asyncio at
about twice the CPU per request), and OpenMP threads that sleep when idle."""

from __future__ import annotations

import os
import sys

import pytest

from lmforge.serve.cli import prefer_passive_omp_wait


def test_uvicorn_picks_httptools_and_uvloop() -> None:
    import uvicorn

    config = uvicorn.Config(app=lambda scope, receive, send: None, http="auto", loop="auto")
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    loop = config.get_loop_factory()()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_passive_omp_wait_is_set_before_torch_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delitem(sys.modules, "torch")
    prefer_passive_omp_wait()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_passive_omp_wait_keeps_the_users_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.delitem(sys.modules, "torch")
    prefer_passive_omp_wait()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_passive_omp_wait_is_not_set_once_torch_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch  # noqa: F401  (libgomp has read its settings: setting the policy now is a lie)

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    prefer_passive_omp_wait()
    assert "OMP_WAIT_POLICY" not in os.environ
