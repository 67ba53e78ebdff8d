"""Small corpora for the n-gram tests, generated from a seeded word chain."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "a", "log", "ate", "fish", "bone", "red", "saw",
         "big", "small", "ran", "home", "and"]


def chain_corpus(n_sentences: int, seed: int = 0, words: list[str] = WORDS) -> list[list[str]]:
    """Sentences from a random first-order chain: enough repetition for every count of counts
    n1..n4 to be non-zero, so the estimators use their real discounts, not fallbacks."""
    rng = random.Random(0)  # the same chain for every seed; seed only changes the sentences
    follow = {w: rng.sample(words, 4) for w in words}
    rng = random.Random(seed)
    sentences = []
    for _ in range(n_sentences):
        word = rng.choice(words[:6])
        sentence = [word]
        for _ in range(rng.randint(0, 7)):
            if rng.random() < 0.1:  # rare words: singletons and doubletons at every order
                sentence.append(f"w{int(rng.paretovariate(0.7))}")  # Zipf-like tail
                continue
            word = rng.choice(follow[word]) if rng.random() < 0.8 else rng.choice(words)
            sentence.append(word)
        sentences.append(sentence)
    return sentences


def write_lines(path: Path, sentences: list[list[str]]) -> Path:
    path.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def train_sentences() -> list[list[str]]:
    return chain_corpus(400, seed=1)


@pytest.fixture(scope="session")
def test_sentences() -> list[list[str]]:
    return chain_corpus(40, seed=2) + [["the", "zebra", "sat"], ["okapi"], ["cat"]]
