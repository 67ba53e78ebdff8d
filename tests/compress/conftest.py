"""Tiny random-init run directories built by hand (no training), and the CLI runner."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import sentiment_rows, write_csv

# One thread: the tiny model gains nothing from more, and on a busy 2-core machine
# OpenMP threads waiting on each other cost seconds per test.
FAST_BENCH = {"threads": 1, "latency_runs": 3, "throughput_texts": 64}
FAST_BENCH_FLAGS = ["--threads", "1", "--latency-runs", "3", "--throughput-texts", "64"]


def make_run(root: Path, layers: int = 2, heads: int = 4, hidden: int = 32,
             seed: int = 0) -> Path:
    """A run directory like `lmforge train` writes, with a random-init tiny BERT."""
    import torch
    import yaml
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from lmforge.models.registry import resolve_model_dir

    root.mkdir(parents=True, exist_ok=True)
    train_csv = write_csv(root / "train.csv", sentiment_rows(120, seed=seed))
    test_csv = write_csv(root / "test.csv", sentiment_rows(40, seed=seed + 100))
    run = root / "run"
    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_dir("default")))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden,
                        num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=2 * hidden, max_position_embeddings=128,
                        num_labels=2, id2label={0: "neg", 1: "pos"},
                        label2id={"neg": 0, "pos": 1},
                        problem_type="single_label_classification")
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(str(run / "model"))
    tokenizer.save_pretrained(str(run / "model"))
    settings = {"data": str(train_csv.resolve()), "out": str(run), "validation": None,
                "test": str(test_csv.resolve()), "text_col": "text", "label_col": "label",
                "task": "single", "label_sep": "|", "model": "default", "max_length": 64,
                "truncation": "head+tail", "eval_batch_size": 32, "seed": seed,
                "validation_fraction": 0.1, "test_fraction": 0.2}
    (run / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({}), encoding="utf-8")
    return run


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 layers x 4 heads, hidden 32. Read-only: tests write their outputs elsewhere."""
    return make_run(tmp_path_factory.mktemp("tiny-run"))


def train_tfidf_run(root: Path, rows: Sequence[tuple[str, str]] | None = None) -> Path:
    """A real `lmforge train --model tfidf` run (seconds) on in-test data."""
    import lmforge

    root.mkdir(parents=True, exist_ok=True)
    data = write_csv(root / "reviews.csv", list(rows) if rows else sentiment_rows(300))
    return lmforge.train(data=str(data), out=str(root / "run"), model="tfidf",
                         show_progress=False).run_dir


@pytest.fixture(scope="session")
def tfidf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: `lmforge train --model tfidf` on 300 synthetic reviews."""
    return train_tfidf_run(tmp_path_factory.mktemp("tfidf-run"))


def run_cli(argv: Sequence[str]) -> int:
    """``lmforge.cli.main``: exit code; messages on the captured stdout/stderr."""
    from lmforge import cli

    return cli.main(list(argv))
