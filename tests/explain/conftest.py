"""A tiny BERT fine-tuned for a few seconds on the easy synthetic sentiment data (so the
attributions carry signal), its ONNX export, and tiny multi-label / regression runs.

The fine-tuned run is still written by hand: the attribution tests need the confident logits
of a plain constant-lr loop over all 240 texts, which `lmforge.train` (warmup + decay, weight
decay, best-epoch restore) on the same model does not reach. The others come from
tests.helpers, through the real writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sentiment_rows, write_csv
from tests.helpers import export_onnx_run, make_run, train_tfidf_run


def fine_tuned_run(root: Path, model_dir: Path, epochs: int = 3, lr: float = 1e-3,
                   max_length: int = 32) -> Path:
    """A run directory like `lmforge train` writes, with the tiny BERT fine-tuned by a plain
    loop (a few seconds), so these tests do not depend on the whole training recipe."""
    import json

    import torch
    import yaml
    from transformers import AutoTokenizer, BertForSequenceClassification

    from lmforge.data.tokenize import encode_texts, pad_batch

    rows = sentiment_rows(240)
    train_csv = write_csv(root / "train.csv", rows)
    test_csv = write_csv(root / "test.csv", sentiment_rows(40, seed=100))
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(
        str(model_dir), num_labels=2, id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})
    ids = encode_texts(tokenizer, [t for t, _ in rows], max_length).input_ids
    targets = torch.tensor([int(label == "pos") for _, label in rows])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for start in range(0, len(ids), 16):
            batch = pad_batch(ids[start:start + 16], tokenizer.pad_token_id)
            loss = model(**batch, labels=targets[start:start + 16]).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    run = root / "run"
    model.save_pretrained(str(run / "model"))
    tokenizer.save_pretrained(str(run / "model"))
    settings = {"data": str(train_csv.resolve()), "test": str(test_csv.resolve()),
                "validation": None, "text_col": "text", "label_col": "label", "task": "single",
                "label_sep": "|", "max_length": max_length, "truncation": "head+tail",
                "eval_batch_size": 32, "seed": 0, "validation_fraction": 0.1,
                "test_fraction": 0.2}
    (run / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({}), encoding="utf-8")
    return run


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """Read-only. max_length 32, so long texts are truncated (head+tail)."""
    import lmforge

    run = fine_tuned_run(tmp_path_factory.mktemp("explain-run"), tiny_model_dir)
    texts = [t for t, _ in sentiment_rows(40, seed=100)]
    truth = [label for _, label in sentiment_rows(40, seed=100)]
    predicted = lmforge.load(run).predict(texts)
    accuracy = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
    assert accuracy >= 0.9, accuracy  # the attributions tests below rely on a model that learned
    return run


@pytest.fixture(scope="session")
def trained_clf(trained_run: Path) -> Any:
    import lmforge

    return lmforge.load(trained_run)


@pytest.fixture(scope="session")
def onnx_run(tmp_path_factory: pytest.TempPathFactory, trained_run: Path) -> Path:
    return export_onnx_run(trained_run, tmp_path_factory.mktemp("explain-onnx") / "onnx")


@pytest.fixture(scope="session")
def multi_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("explain-multi"), labels=("action", "comedy", "drama"),
                    task="multi", seed=3)


@pytest.fixture(scope="session")
def regression_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("explain-regression"), task="regression", seed=4)


@pytest.fixture(scope="session")
def tfidf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `lmforge train --model tfidf` run (word 1-2-grams, binary logistic regression)."""
    return train_tfidf_run(tmp_path_factory.mktemp("explain-tfidf"))


@pytest.fixture(scope="session")
def tfidf_zh_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TF-IDF run on Chinese reviews: character 1-3-grams."""
    import random

    rng = random.Random(0)
    good, bad = ["好看", "精彩", "感人", "出色"], ["无聊", "难看", "失望", "拖沓"]
    rows = []
    for i in range(160):
        label = "pos" if i % 2 == 0 else "neg"
        rows.append((rng.choice(["这部电影", "剧情", "演员", "故事"]) + "很"
                     + rng.choice(good if label == "pos" else bad) + f"{i}", label))
    return train_tfidf_run(tmp_path_factory.mktemp("explain-tfidf-zh"), rows)
