"""bench/pairs.py builds next-sentence pairs from 20 Newsgroups-like posts as it says: on tiny
CSVs, no training."""

from __future__ import annotations

import csv
import importlib.util
import random
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "pairs.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pairs", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def post(name: str, n_words: int) -> str:
    """Words that name their post and position: ``sci3w17``."""
    return " ".join(f"{name}w{k}" for k in range(n_words))


def write_posts(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("text", "label"), *rows])
    return path


def test_news_pairs_are_half_next_half_another_groups_and_split_by_post(
        bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    groups = ["sci", "rec", "talk"]
    train = [(post(f"{g}{i}", 20 * (2 + i % 3)), g) for g in groups for i in range(6)]
    cross_post = train[0][0]
    train.append((cross_post, "rec"))  # the same text under another group: kept once
    test = [(post(f"t{g}{i}", 20 * (2 + i % 3) + 7), g) for g in groups for i in range(4)]
    test.append((cross_post, "sci"))  # also in the train file: left out of the test side
    test.append((post("tshort", 30), "sci"))  # one segment (the tail is dropped): no pair
    quoted = "in article apr batman bmd trw com jbrown writes " + post("tsci9", 40)
    test.append((quoted, "sci"))
    train_rows, test_rows = bench.news_pairs(
        write_posts(tmp_path / "train.csv", train), write_posts(tmp_path / "test.csv", test),
        30, 20, random.Random(0))
    assert "18 training and 13 test posts" in capsys.readouterr().out

    segment_of = {}  # segment text -> (group, post, index)
    for rows_in, side in ((train[:-1], "train"), (test, "test")):
        for text, group in rows_in:
            for index, segment in enumerate(bench.segments(text)):
                segment_of.setdefault(segment, (group, f"{side}:{segment.split('w')[0]}", index))
    for rows, n, side in ((train_rows, 30, "train"), (test_rows, 20, "test")):
        assert len(rows) == n
        assert [label for *_, label in rows].count("next") == n // 2
        for first, second, label in rows:
            assert len(first.split()) == len(second.split()) == bench.SEGMENT_WORDS
            (group_a, post_a, i), (group_b, post_b, j) = segment_of[first], segment_of[second]
            assert post_a.startswith(side) and post_b.startswith(side)  # no post on both sides
            if label == "next":
                assert (post_b, j) == (post_a, i + 1)
            else:  # another newsgroup's post, never its first (subject-line) segment
                assert group_b != group_a and j >= 1
    words = {w for rows in (train_rows, test_rows) for row in rows for w in " ".join(row[:2]).split()}
    assert not words & {"article", "writes", "batman", "tshortw0"}
    # the same seed, the same pairs
    again = bench.news_pairs(tmp_path / "train.csv", tmp_path / "test.csv", 30, 20,
                             random.Random(0))
    assert again == (train_rows, test_rows)


def test_a_news_file_without_its_columns_is_refused_by_name(
        bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "news_20newsgroups_train.csv").write_text("body,label\nsome words,sci\n")
    write_posts(tmp_path / "news_20newsgroups_test.csv", [(post("a", 40), "sci")])
    assert bench.main(["--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'news_20newsgroups_train.csv'}: needs columns text,label; "
        "missing text\n")
    assert bench.main(["--data-dir", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'nowhere' / 'news_20newsgroups_train.csv'} not found; "
        "pass --data-dir\n")
