"""--long-text window: long texts read whole as overlapping windows, logits pooled per text,
the same in training, evaluation, PyTorch and ONNX prediction and the service."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import lmforge
from lmforge.data.tokenize import WindowSpec, cap_windows, encode_texts, window_starts
from tests.conftest import FILLER, NEGATIVE, POSITIVE, write_csv


def test_window_starts_cover_every_token_and_end_at_the_end() -> None:
    assert window_starts(10, 16, 12) == [0]
    starts = window_starts(100, 16, 12)
    assert starts[0] == 0 and starts[-1] == 100 - 16
    covered = {t for s in starts for t in range(s, s + 16)}
    assert covered == set(range(100))
    assert all(b - a <= 12 for a, b in zip(starts, starts[1:], strict=False))


def test_cap_keeps_first_quarter_and_last_three_quarters() -> None:
    starts = list(range(0, 200, 10))
    assert cap_windows(starts, 8) == [0, 10] + starts[-6:]
    assert cap_windows(starts[:5], 8) == starts[:5]
    assert cap_windows(starts, 2) == [0, starts[-1]]


def test_encode_windows_frames_each_window_and_counts(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    words = [f"w{i}" for i in range(300)]
    long_text = " ".join(words)
    enc = encode_texts(tok, ["short text", long_text], 32, windows=WindowSpec(24, 4))
    assert enc.n_texts == 2 and enc.n_truncated == 1 and enc.n_capped == 1
    rows = enc.rows_per_text()
    assert rows[0] == [0] and len(rows[1]) == 4
    assert all(r[0] == tok.cls_token_id and r[-1] == tok.sep_token_id for r in enc.input_ids)
    assert all(len(r) <= 32 for r in enc.input_ids)
    bare = tok(long_text, add_special_tokens=False)["input_ids"]
    assert enc.input_ids[rows[1][0]][1:-1] == bare[:30]  # the head window
    assert enc.input_ids[rows[1][-1]][1:-1] == bare[-30:]  # the tail window
    uncapped = encode_texts(tok, [long_text], 32, windows=WindowSpec(24, 1000))
    assert uncapped.n_capped == 0
    covered = [t for r in uncapped.input_ids for t in r[1:-1]]
    assert set(covered) == set(bare)


def test_torch_pooling_equals_numpy_pooling() -> None:
    import numpy as np
    import torch

    from lmforge.inference.surface import pool_windows
    from lmforge.training.loop import mean_by_owner

    rows = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    owner = [0, 0, 0, 1, 2, 2, 3]
    expected = np.stack([rows[:3].mean(0), rows[3], rows[4:6].mean(0), rows[6]])
    assert np.allclose(pool_windows(rows, owner, 4), expected, atol=1e-6)
    pooled = mean_by_owner(torch.from_numpy(rows), torch.tensor(owner), 4)
    assert np.allclose(pooled.numpy(), expected, atol=1e-6)
    assert pool_windows(rows, None, 7) is rows


def hidden_middle_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """The label's words sit in the middle of a long text: head+tail truncation to 32 tokens
    never sees them, windows do."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = POSITIVE if label == "pos" else NEGATIVE
        head = " ".join(rng.choice(FILLER) for _ in range(30))
        middle = " ".join(rng.choice(words) for _ in range(12))
        tail = " ".join(rng.choice(FILLER) for _ in range(40))
        rows.append((f"{head} {middle} {tail}", label))
    return rows


FAST = dict(epochs=8, lr=1e-3, batch_size=16, max_length=32, show_progress=False, seed=0)


@pytest.fixture(scope="module")
def window_runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("windows")
    data = write_csv(tmp / "long.csv", hidden_middle_rows(240))
    runs = {}
    for mode in ("truncate", "window"):
        runs[mode] = lmforge.train(data=str(data), out=str(tmp / mode), model=str(tiny_model_dir),
                                   long_text=mode, baseline=False, **FAST).run_dir
    return runs


def test_windows_read_what_truncation_cuts(window_runs: dict[str, Any]) -> None:
    truncated = json.loads((window_runs["truncate"] / "metrics.json").read_text())
    windowed = json.loads((window_runs["window"] / "metrics.json").read_text())
    assert truncated["test"]["accuracy"] < 0.7  # the words are never read
    assert windowed["test"]["accuracy"] >= 0.9
    data = windowed["data"]
    assert data["truncation"] == "window"
    assert data["windows"]["per_text"]["test"] > 3
    assert data["over_max_length"]["train"] == data["splits"]["train"]
    report = (window_runs["window"] / "report.md").read_text()
    assert "read whole as overlapping windows" in report and "windows per text" in report


def test_evaluate_predict_and_metrics_agree(window_runs: dict[str, Any], tmp_path: Path) -> None:
    run = window_runs["window"]
    clf = lmforge.load(run)
    rows = hidden_middle_rows(40, seed=5)
    data = write_csv(tmp_path / "more.csv", rows)
    metrics = lmforge.evaluate(run, data)
    predicted = clf.predict([t for t, _ in rows])
    accuracy = sum(p == y for p, (_, y) in zip(predicted, rows, strict=True)) / len(rows)
    assert metrics["accuracy"] == pytest.approx(accuracy)
    assert accuracy >= 0.9


def test_same_logits_in_pytorch_onnx_and_the_service(window_runs: dict[str, Any],
                                                     tmp_path: Path) -> None:
    import numpy as np

    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run
    from lmforge.serve.app import create_app
    from tests.serve.conftest import serve_app

    run = window_runs["window"]
    texts = [t for t, _ in hidden_middle_rows(6, seed=9)] + ["short one"]
    torch_clf = lmforge.load(run)
    expected = torch_clf.logits(texts)
    # by hand: every window through the plain transformers model, mean per text
    enc = encode_texts(torch_clf.tokenizer, texts, 32, windows=WindowSpec(24, 8))
    import torch

    by_hand = []
    with torch.inference_mode():
        for rows in enc.rows_per_text():
            out = [torch_clf.model(input_ids=torch.tensor([enc.input_ids[r]])).logits[0].numpy()
                   for r in rows]
            by_hand.append(np.mean(out, axis=0))
    assert np.abs(np.array(by_hand) - expected).max() < 1e-4

    onnx_run = tmp_path / "onnx"
    export_run(ExportConfig(run_dir=str(run), out=str(onnx_run), threads=1, latency_runs=2,
                            throughput_texts=16))
    onnx_clf = lmforge.load(onnx_run)
    assert onnx_clf.backend == "onnx"
    assert np.abs(onnx_clf.logits(texts) - expected).max() < 1e-4

    client = serve_app(create_app([run]))
    try:
        answer = client.post("/v1/predict", json={"texts": texts}).json()
    finally:
        client.__exit__(None, None, None)
    served = np.array([[r["scores"][label] for label in torch_clf.labels]
                       for r in answer["predictions"]])
    assert np.abs(served - torch_clf.predict_proba(texts)).max() < 1e-5


def test_window_settings_are_checked_all_at_once() -> None:
    from lmforge.config.train import TrainConfig
    from lmforge.errors import ConfigError

    cfg = TrainConfig(data="x.csv", out="o", max_length=64, window_stride=64, max_windows=1)
    with pytest.raises(ConfigError) as err:
        cfg.validate()
    message = str(err.value)
    assert "window_stride: must be between 1 and max_length - 1 (63), got 64" in message
    assert "max_windows: must be >= 2" in message
    assert "only used with --long-text window" in message


def test_unknown_tokens_are_counted_per_text_not_per_window(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    from lmforge.data.tokenize import unknown_token_report

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    chinese = "这部手机我非常喜欢" * 40  # mostly [UNK] for the English vocabulary, many windows
    enc = encode_texts(tok, [chinese, "a plain english text"], 32, windows=WindowSpec(24, 8))
    assert len(enc.input_ids) > 3
    report = unknown_token_report(tok, enc)
    assert report["texts"] == 1  # per window it was 8 "texts" out of 2
