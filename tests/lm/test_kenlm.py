"""Our ARPA files load in the ``kenlm`` module (KenLM's C++ query code) and it scores every
sentence as we do, within 1e-4 (KenLM stores float32; we compute in float64)."""

from __future__ import annotations

from pathlib import Path

import kenlm  # noqa: E402  (a dev dependency, compiled on install)
import numpy as np
import pytest

from lmforge.lm import fit_ngram
from lmforge.lm.config import SMOOTHINGS


def kenlm_scores(path: Path, sentences: list[list[str]]) -> np.ndarray:
    model = kenlm.Model(str(path))
    return np.array([model.score(" ".join(s), bos=True, eos=True) for s in sentences])


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("order", [2, 3, 5])
def test_kenlm_scores_equal_ours(smoothing: str, order: int, tmp_path: Path, train_sentences,
                                 test_sentences) -> None:
    model = fit_ngram(train_sentences, order=order, smoothing=smoothing)
    model.save(tmp_path / "model.arpa")
    sentences = test_sentences + train_sentences[:20]  # unseen n-grams, OOV words and seen text
    ours = model.score_sentences(sentences)
    assert np.abs(kenlm_scores(tmp_path / "model.arpa", sentences) - ours).max() < 1e-4


def test_kenlm_with_unk_ngrams_from_min_count(tmp_path: Path, train_sentences, test_sentences) -> None:
    """With --min-count, <unk> occurs in training n-grams; KenLM looks those up like any word."""
    model = fit_ngram(train_sentences, order=3, smoothing="modified-kneser-ney", min_count=2)
    assert any(model.keys[1] // model.vocab_size == model.unk)  # n-grams with <unk> exist
    model.save(tmp_path / "model.arpa")
    ours = model.score_sentences(test_sentences)
    assert np.abs(kenlm_scores(tmp_path / "model.arpa", test_sentences) - ours).max() < 1e-4


def test_kenlm_char_level_chinese(tmp_path: Path) -> None:
    lines = ["我们喜欢北京", "北京欢迎你", "我们都是好朋友", "你好北京", "今天天气很好", "我们去北京吧"]
    model = fit_ngram([list(line) for line in lines], order=3, level="char")
    model.save(tmp_path / "zh.arpa")
    test = [list("我们喜欢你"), list("北京天气"), list("火星")]
    ours = model.score_sentences(test)
    assert np.abs(kenlm_scores(tmp_path / "zh.arpa", test) - ours).max() < 1e-4
