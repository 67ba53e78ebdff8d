"""A tiny random-init run directory built by hand, and apps/servers serving it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def make_run(root: Path, labels: tuple[str, ...] = ("neg", "pos"), task: str = "single",
             seed: int = 0) -> Path:
    """A run directory like `lmforge train` writes, holding a random-init 2-layer BERT."""
    import torch
    import yaml
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from lmforge.models.registry import resolve_model_dir

    run = root / "run"
    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_dir("default")))
    problem = {"single": "single_label_classification", "multi": "multi_label_classification",
               "regression": "regression"}[task]
    n = 1 if task == "regression" else len(labels)
    id2label = {0: "LABEL_0"} if task == "regression" else dict(enumerate(labels))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        num_labels=n, id2label=id2label,
                        label2id={v: k for k, v in id2label.items()}, problem_type=problem)
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(str(run / "model"))
    tokenizer.save_pretrained(str(run / "model"))
    settings = {"task": task, "max_length": 64, "truncation": "head+tail", "eval_batch_size": 32,
                "text_col": "text", "label_col": "label", "seed": seed}
    (run / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({}), encoding="utf-8")
    return run


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: tests never write into it."""
    return make_run(tmp_path_factory.mktemp("serve-tiny"))


@pytest.fixture(scope="session")
def tiny_clf(tiny_run: Path) -> Any:
    import lmforge

    return lmforge.load(tiny_run)


def wait_ready(client: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/ready").status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError(f"not ready after {timeout} s: {client.get('/ready').json()}")


def serve_app(app: Any, **settings: Any) -> Any:
    """A TestClient with the app's lifespan running and its models ready."""
    from fastapi.testclient import TestClient

    client = TestClient(app, **settings)
    client.__enter__()
    wait_ready(client)
    return client


@pytest.fixture(scope="module")
def client(tiny_run: Path) -> Iterator[Any]:
    """The default settings, no API key, small limits to test them cheaply."""
    from lmforge.serve.app import create_app
    from lmforge.serve.config import ServeConfig

    config = ServeConfig(max_texts_per_request=8, max_text_chars=200, max_body_bytes=4096,
                         max_queue_texts=64)
    c = serve_app(create_app([tiny_run], config), raise_server_exceptions=False)
    yield c
    c.__exit__(None, None, None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn on 127.0.0.1:<free port> in a thread (loopback only)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import httpx

        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("the live server did not become ready")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def live_server(tiny_run: Path) -> Iterator[LiveServer]:
    from lmforge.serve.app import create_app

    with LiveServer(create_app([tiny_run])) as server:
        yield server
