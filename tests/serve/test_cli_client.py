"""The serve command line, the client behind `lmforge predict --server`, and a real
SIGTERM to a real server process."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lmforge.errors import ConfigError, RunDirError
from lmforge.serve.errors import RemoteError
from tests.serve.conftest import LiveServer, free_port


def parse(*argv: str) -> argparse.Namespace:
    from lmforge.serve.cli import add_serve_cli

    parser = argparse.ArgumentParser(prog="lmforge")
    add_serve_cli(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_flags_fill_the_config() -> None:
    from lmforge.serve.cli import config_from_args

    args = parse("a", "name=b", "--host", "0.0.0.0", "--port", "9001", "--max-batch-size", "1",
                 "--max-wait-ms", "2.5", "--max-queue-texts", "300", "--threads", "2",
                 "--access-log")
    assert args.run_dirs == ["a", "name=b"]
    config = config_from_args(args, {})
    assert (config.host, config.port, config.max_batch_size, config.max_wait_ms,
            config.max_queue_texts, config.threads, config.access_log) == (
        "0.0.0.0", 9001, 1, 2.5, 300, 2, True)


def test_every_bad_setting_is_reported_at_once() -> None:
    from lmforge.serve.cli import config_from_args

    with pytest.raises(ConfigError) as err:
        config_from_args(parse("a", "--port", "70000", "--max-batch-size", "0",
                               "--max-wait-ms", "-1", "--max-queue-texts", "10"), {})
    assert str(err.value) == (
        "invalid serve settings: port: must be between 0 and 65535, got 70000; max_batch_size: "
        "must be >= 1, got 0; max_wait_ms: must be >= 0, got -1.0; max_queue_texts (10) must be "
        ">= max_texts_per_request (256), or a full-size request could never be queued")
    with pytest.raises(ConfigError, match="command line: 'port': .*'eighty'"):
        config_from_args(parse("a", "--port", "eighty"), {})


def test_run_dirs_are_checked_before_serving(tmp_path: Path, tiny_run: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from lmforge.serve.__main__ import main
    from lmforge.serve.app import create_app

    assert main([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == (
        f"error: run directory '{tmp_path / 'missing'}' does not exist. Pass the --out directory "
        "of a finished `lmforge train`.\n")
    with pytest.raises(RunDirError, match="is not an lmforge run directory"):
        create_app([tmp_path])
    with pytest.raises(ConfigError, match="two run directories are both named 'run'"):
        create_app([tiny_run, tiny_run])


def test_predict_remote_matches_local_rows(live_server: LiveServer, tiny_clf: Any) -> None:
    from lmforge.inference.rows import prediction_rows
    from lmforge.serve.client import describe_remote, predict_remote

    texts = [f"text number {i} " + "word " * (i % 13) for i in range(300)]  # > 256: two requests
    remote = describe_remote(live_server.url)
    assert (remote.name, remote.task, remote.labels) == ("run", "single", ["neg", "pos"])
    rows = predict_remote(live_server.url + "/", texts)
    local = prediction_rows(tiny_clf, texts)
    assert [r["text"] for r in rows] == texts
    assert [r["label"] for r in rows] == [r["label"] for r in local]
    assert list(rows[0]) == list(local[0]) == ["text", "label", "prob_neg", "prob_pos"]
    assert max(abs(a["prob_pos"] - b["prob_pos"]) for a, b in zip(rows, local, strict=True)) < 1e-5
    assert predict_remote(live_server.url, []) == []


def test_cli_predict_through_the_server_streams_chunks(live_server: LiveServer, tiny_clf: Any,
                                                      tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import csv
    import io

    from lmforge.cli import main
    from lmforge.inference.rows import prediction_rows

    texts = [f"text number {i} " + "word " * (i % 5) for i in range(7)]
    data = tmp_path / "in.csv"
    data.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)),
                    encoding="utf-8")
    assert main(["-q", "predict", "--server", live_server.url, "--data", str(data),
                 "--chunk-rows", "3"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["id", "text", "predicted_label", "prob_neg", "prob_pos"]
    assert [(r["id"], r["text"]) for r in rows] == [(str(i), t) for i, t in enumerate(texts)]
    local = prediction_rows(tiny_clf, texts)
    assert [r["predicted_label"] for r in rows] == [r["label"] for r in local]


def test_client_errors_are_clear(live_server: LiveServer) -> None:
    from lmforge.serve.client import predict_remote

    port = free_port()
    with pytest.raises(RemoteError, match=rf"cannot reach the lmforge server at http://127.0.0.1:"
                       rf"{port} \(.*\)\. Is `lmforge serve` running there\?"):
        predict_remote(f"127.0.0.1:{port}", ["x"])
    with pytest.raises(RemoteError, match="does not serve a model named 'nope'; it serves: run"):
        predict_remote(live_server.url, ["x"], model="nope")
    with pytest.raises(RemoteError, match=r"answered 422 to POST /v1/predict: texts\[0\]: only "
                       "whitespace"):
        predict_remote(live_server.url, ["   "])
    with pytest.raises(ConfigError, match="expected an http:// or https:// URL"):
        predict_remote("ftp://host", ["x"])


def test_client_sends_the_key_and_retries_when_busy(tiny_run: Path) -> None:
    from lmforge.serve.app import create_app
    from lmforge.serve.client import predict_remote
    from lmforge.serve.config import ServeConfig

    app = create_app([tiny_run], ServeConfig(api_key="k"))
    with LiveServer(app) as server:
        with pytest.raises(RemoteError, match="answered 401 to GET /v1/models: this server needs "
                           "an API key"):
            predict_remote(server.url, ["x"])
        batcher = app.state.pool.batchers["run"]
        original = batcher.submit
        refusals = [2]

        async def busy_twice(texts: list[str], request_id: str) -> Any:
            from lmforge.serve.errors import Unavailable

            if refusals[0]:
                refusals[0] -= 1
                raise Unavailable("queue full", 1)
            return await original(texts, request_id)

        batcher.submit = busy_twice
        started = time.monotonic()
        assert predict_remote(server.url, ["x"], api_key="k")[0]["label"] in {"neg", "pos"}
        assert refusals == [0] and time.monotonic() - started >= 2.0


def test_chunks_respect_count_and_bytes() -> None:
    from lmforge.serve.client import _chunks

    texts = ["a" * 100] * 10
    assert [len(c) for c in _chunks(texts, max_texts=4, max_bytes=10_000)] == [4, 4, 2]
    assert [len(c) for c in _chunks(texts, max_texts=100, max_bytes=700)] == [3, 3, 3, 1]


def test_sigterm_finishes_in_flight_requests_then_exits(tiny_run: Path, tmp_path: Path) -> None:
    """A real server process: requests waiting in the batcher when SIGTERM arrives still
    get their answers; then the process exits. uvicorn re-raises the signal once it has shut
    down cleanly, so the exit status is the signal's (-15; 143 in a shell)."""
    import httpx

    port = free_port()
    log_path = tmp_path / "server.log"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lmforge.serve", str(tiny_run), "--port", str(port),
             "--max-batch-size", "64", "--max-wait-ms", "1500", "--threads", "1"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        results: list[int] = []

        def call(i: int) -> None:
            r = httpx.post(url + "/v1/predict", json={"texts": [f"text {i}"] * (i + 1)}, timeout=30)
            results.append(r.status_code)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        while time.monotonic() < deadline:  # all 15 texts wait for the 1.5 s batch window
            text = httpx.get(url + "/metrics", timeout=5).text
            if 'lmforge_queue_depth{model="run"} 15.0' in text:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(30)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
    log_text = log_path.read_text()
    assert results == [200] * 5, log_text
    assert "shutting down: draining the queues" in log_text
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=2)
