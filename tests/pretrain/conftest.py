"""Tiny corpora written by the tests, and the CLI runner."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

SUBJECTS = ["the cat", "the dog", "a bird", "my friend", "the teacher", "our neighbour"]
VERBS = ["sees", "likes", "follows", "paints", "visits", "watches"]
OBJECTS = ["the river", "a red house", "the old tree", "the market", "a small boat", "the hill"]
ZH = ["我们今天去北京看天安门。", "北京的秋天非常美丽。", "这家酒店的服务很好，房间也干净。",
      "电脑的屏幕太小了，不推荐购买。", "人民日报发表了新年社论。", "他喜欢在公园里散步。"]


def english_lines(n: int, seed: int = 0) -> list[str]:
    """Regular sentences: a tiny model learns them in a few dozen steps."""
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} ." for _ in range(n)]


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def english_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    # blank lines every 10 lines: documents, for next-sentence pairs
    lines = english_lines(300)
    text = "\n\n".join("\n".join(lines[i : i + 10]) for i in range(0, len(lines), 10))
    (root / "en.txt").write_text(text + "\n", encoding="utf-8")
    return root / "en.txt"


@pytest.fixture(scope="session")
def chinese_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lines(tmp_path_factory.mktemp("corpus-zh") / "zh.txt", ZH * 20)


FAST = {"max_length": 32, "batch_size": 16, "lr": 3e-3, "warmup_ratio": 0.0, "seed": 0,
        "show_progress": False, "mixed_precision": "no", "vocab_size": 120}
FAST_FLAGS = ["--max-length", "32", "--batch-size", "16", "--lr", "3e-3", "--warmup-ratio", "0",
              "--no-show-progress", "--mixed-precision", "no", "--vocab-size", "120"]


def run_cli(argv: Sequence[str]) -> int:
    """``lmforge.cli.main``: exit code; messages on the captured stdout/stderr."""
    from lmforge import cli

    return cli.main(list(argv))
