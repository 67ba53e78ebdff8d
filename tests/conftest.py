"""Shared fixtures: a tiny random-init BERT (seconds to train) and small data."""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

POSITIVE = ["great", "wonderful", "excellent", "superb", "delightful", "brilliant", "moving"]
NEGATIVE = ["awful", "boring", "terrible", "dull", "painful", "clumsy", "lifeless"]
FILLER = ["the", "film", "movie", "plot", "acting", "was", "really", "quite", "story", "cast"]


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for the whole session: the tiny models gain nothing from more, and on
    a busy 2-core machine OpenMP threads waiting on each other cost seconds per test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 64-hidden BERT with random weights and the default tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from lmforge.models.registry import resolve_model_dir

    out = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_dir("default")))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128,
                        max_position_embeddings=256)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def sentiment_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Easy synthetic sentiment: the label is decided by which word list is used."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = POSITIVE if label == "pos" else NEGATIVE
        text = " ".join(rng.choice(FILLER) for _ in range(rng.randint(3, 8)))
        text += " " + " ".join(rng.choice(words) for _ in range(2)) + f" #{i}"
        rows.append((text, label))
    return rows


def write_csv(path: Path, rows: list[tuple], header: tuple[str, ...] = ("text", "label")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def sentiment_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "reviews.csv", sentiment_rows(240))
