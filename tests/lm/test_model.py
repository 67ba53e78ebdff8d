"""Scoring: the vectorised path equals a plain-Python reading of the ARPA backoff rule;
perplexity, OOV rate and generation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lmforge.errors import ConfigError, DataError
from lmforge.lm import fit_ngram


def arpa_tables(path: Path) -> tuple[dict, dict]:
    """log10 p and log10 bo of every n-gram, read the simplest way."""
    prob, backoff, order = {}, {}, 0
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:].split("-")[0])
        elif order and line and not line.startswith("\\"):
            fields = line.split("\t")
            words = tuple(fields[1].split(" "))
            prob[words] = float(fields[0])
            backoff[words] = float(fields[2]) if len(fields) == 3 else 0.0
    return prob, backoff


def backoff_logprob(prob: dict, backoff: dict, context: tuple, word: str) -> float:
    if context + (word,) in prob:
        return prob[context + (word,)]
    if not context:
        return prob[("<unk>",)]
    return backoff.get(context, 0.0) + backoff_logprob(prob, backoff, context[1:], word)


@pytest.mark.parametrize("smoothing", ["modified-kneser-ney", "katz-backoff", "stupid-backoff"])
def test_vectorised_scores_equal_the_backoff_rule(smoothing: str, tmp_path: Path, train_sentences,
                                                   test_sentences) -> None:
    order = 4
    model = fit_ngram(train_sentences, order=order, smoothing=smoothing)
    model.save(tmp_path / "m.arpa")
    prob, backoff = arpa_tables(tmp_path / "m.arpa")
    vocab = set(model.vocab)
    for sentence, ours in zip(test_sentences, model.score_sentences(test_sentences), strict=True):
        padded = ["<s>"] + [w if w in vocab else "<unk>" for w in sentence] + ["</s>"]
        expected = sum(backoff_logprob(prob, backoff, tuple(padded[max(0, i - order + 1) : i]), padded[i])
                       for i in range(1, len(padded)))
        assert ours == pytest.approx(expected, abs=1e-9)


def test_score_text_lines_and_tokens_agree(train_sentences) -> None:
    model = fit_ngram(train_sentences, order=3, lowercase=True)
    text = "The cat sat\n\nA dog ran home\n"
    by_text = model.score_text(text)
    assert len(by_text) == 2
    assert by_text[0] == model.score("the CAT sat") == model.score_sentences([["the", "cat", "sat"]])[0]
    assert model.score_sentences([[], ["cat"]])[0] == model.logprob_of("</s>", ["<s>"])


def test_perplexity_and_oov_rate(train_sentences) -> None:
    model = fit_ngram(train_sentences, order=3)
    sentences = [["the", "cat", "zebra"], ["okapi"]]
    metrics = model.evaluate(sentences)
    total = float(model.score_sentences(sentences).sum())
    assert metrics["tokens"] == 4 and metrics["oov"] == 2 and metrics["oov_rate"] == 0.5
    assert metrics["perplexity"] == pytest.approx(10 ** (-total / 6))  # 4 words + 2 </s>
    oov = model.logprob_of("zebra", ["the", "cat"]) + model.logprob_of("okapi", ["<s>"])
    assert metrics["perplexity_excluding_oov"] == pytest.approx(10 ** (-(total - oov) / 4))
    with pytest.raises(DataError, match="no sentences to evaluate"):
        model.evaluate([])


def test_generate_is_seeded_and_stops_at_sentence_end(train_sentences) -> None:
    model = fit_ngram(train_sentences, order=3)
    first = model.generate(3, seed=7, max_tokens=12)
    assert first == model.generate(3, seed=7, max_tokens=12)
    assert first != model.generate(3, seed=8, max_tokens=12)
    assert all(0 <= len(s) <= 12 and "<unk>" not in s and "<s>" not in s for s in first)
    assert all(s[:2] == ["the", "cat"] for s in model.generate(2, prompt=["the", "cat"]))
    with pytest.raises(ConfigError, match="max_tokens"):
        model.generate(1, max_tokens=0)


def test_char_level_model_tokenizes_its_text() -> None:
    model = fit_ngram([list("我们喜欢北京"), list("北京欢迎你")], order=2, level="char")
    assert model.tokenize("北京 欢迎") == ["北", "京", "欢", "迎"]
    assert model.detokenize(["北", "京"]) == "北京"
    assert math.isfinite(model.score("北京欢迎"))


def test_config_errors_are_reported_together() -> None:
    with pytest.raises(ConfigError) as info:
        fit_ngram([["a"]], order=0, smoothing="laplace", min_count=0, k=-1)
    message = str(info.value)
    assert "order: must be >= 1, got 0" in message
    assert ("smoothing: unknown 'laplace'; valid: kneser-ney, modified-kneser-ney, katz-backoff, "
            "stupid-backoff, add-k") in message
    assert "min_count: must be >= 1, got 0" in message and "k: must be > 0, got -1" in message


def test_discount_option_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"discount: give 1 value or 3 \(one per order\), got 2"):
        fit_ngram([["a"]], order=3, smoothing="kneser-ney", discount=[0.1, 0.2])
    with pytest.raises(ConfigError, match=r"discount: only used by --smoothing kneser-ney"):
        fit_ngram([["a"]], order=3, smoothing="katz-backoff", discount=0.5)
    with pytest.raises(ConfigError, match=r"discount: every value must be in \[0, 1\]"):
        fit_ngram([["a"]], order=2, smoothing="kneser-ney", discount=1.5)


def test_empty_training_data() -> None:
    with pytest.raises(DataError, match="no sentences to train on: the corpus is empty."):
        fit_ngram([], order=3)
    assert np.isfinite(fit_ngram([["a"]], order=5).score("a b"))  # shorter than the order: fine
