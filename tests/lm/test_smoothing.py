"""Every normalised smoothing sums to 1 over the vocabulary after every context; the
estimators follow their textbook definitions on hand-checkable cases."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from lmforge.lm import fit_ngram
from lmforge.lm.corpus import BOS
from lmforge.lm.smoothing import good_turing_discounted, kn_discounts

NORMALISED = ["kneser-ney", "modified-kneser-ney", "katz-backoff", "add-k"]


def contexts_of(model, sentences: list[list[str]]) -> list[list[str]]:
    """Every context the model can meet in ``sentences``, plus unseen ones."""
    out = {(BOS,), (BOS, "zebra"), ("zebra", "okapi", "the"), ()}
    for sentence in sentences:
        padded = [BOS, *sentence]
        for i in range(1, len(padded) + 1):
            out.add(tuple(padded[max(0, i - model.order + 1) : i]))
    return [list(c) for c in sorted(out)]


@pytest.mark.parametrize("smoothing", NORMALISED)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_sum_to_one_after_every_context(smoothing: str, order: int,
                                                     train_sentences: list[list[str]]) -> None:
    model = fit_ngram(train_sentences, order=order, smoothing=smoothing)
    assert model.is_normalised
    for context in contexts_of(model, train_sentences[:60]):
        prob = np.power(10.0, model.next_logprobs(context))
        assert prob[model.bos] < 1e-90  # <s> is never predicted
        assert prob.sum() == pytest.approx(1.0, abs=1e-10), context
        assert (prob[np.arange(model.vocab_size) != model.bos] > 0).all()  # <unk> included


def test_min_count_maps_rare_words_to_unk_and_still_sums_to_one(train_sentences) -> None:
    counts = Counter(w for s in train_sentences for w in s)
    rare = sorted(w for w, c in counts.items() if c < 3)
    model = fit_ngram(train_sentences, order=3, smoothing="modified-kneser-ney", min_count=3)
    assert rare and all(w not in model.index for w in rare)
    assert model.evaluate(train_sentences)["oov"] == sum(counts[w] for w in rare)
    for context in ([BOS], [BOS, rare[0]], ["<unk>", "the"], ["the", "cat"]):
        assert np.power(10.0, model.next_logprobs(context)).sum() == pytest.approx(1.0, abs=1e-10)


def test_stupid_backoff_is_relative_frequency_then_backoff_factor() -> None:
    sentences = [["a", "b"], ["a", "c"], ["b", "c"]]
    model = fit_ngram(sentences, order=2, smoothing="stupid-backoff", backoff=0.4)
    assert not model.is_normalised
    n_tokens = 6 + 3  # words + </s>
    assert 10 ** model.logprob_of("b", ["a"]) == pytest.approx(1 / 2)  # c(a b) / c(a .)
    assert 10 ** model.logprob_of("a", ["c"]) == pytest.approx(0.4 * 2 / n_tokens)  # backed off
    assert 10 ** model.logprob_of("zzz", []) == pytest.approx(1 / n_tokens)  # <unk>: as if seen once
    assert np.power(10.0, model.next_logprobs([BOS])).sum() > 1.0  # scores, not probabilities


def test_add_k_is_exact_add_k_for_seen_bigrams_and_unigrams() -> None:
    sentences = [["a", "b"], ["a", "c"], ["b", "c"]]
    model = fit_ngram(sentences, order=2, smoothing="add-k", k=0.5)
    v = 5  # a b c </s> <unk>
    assert 10 ** model.logprob_of("b", ["a"]) == pytest.approx((1 + 0.5) / (2 + 0.5 * v))
    unigram = fit_ngram(sentences, order=1, smoothing="add-k", k=0.5)
    assert 10 ** unigram.logprob_of("c") == pytest.approx((2 + 0.5) / (9 + 0.5 * v))
    assert 10 ** unigram.logprob_of("zzz") == pytest.approx(0.5 / (9 + 0.5 * v))


def test_modified_kneser_ney_discounts_follow_chen_and_goodman() -> None:
    # n1..n4 = 10, 5, 3, 2
    counts = np.array([1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [9], dtype=float)
    y = 10 / (10 + 2 * 5)
    assert kn_discounts(counts, 2, modified=True) == pytest.approx(
        (1 - 2 * y * 5 / 10, 2 - 3 * y * 3 / 5, 3 - 4 * y * 2 / 3))
    assert kn_discounts(counts, 2, modified=False) == pytest.approx((y, y, y))


def test_too_few_counts_fall_back_to_kenlm_default_discounts(caplog) -> None:
    assert kn_discounts(np.array([1.0, 1.0, 1.0]), 3, modified=True) == (0.5, 1.0, 1.5)
    assert "no valid discounts" in caplog.text


def test_good_turing_discount_matches_katz_formula() -> None:
    # counts of counts n1..n6 = 60, 30, 20, 12, 8, 5
    counts = np.repeat(np.arange(1, 7), [60, 30, 20, 12, 8, 5]).astype(float)
    n = {1: 60, 2: 30, 3: 20, 4: 12, 5: 8, 6: 5}
    big_r = 6 * n[6] / n[1]
    discounted = good_turing_discounted(counts, 2)
    for r in range(1, 6):
        d_r = ((r + 1) * n[r + 1] / (r * n[r]) - big_r) / (1 - big_r)
        assert discounted[counts == r][0] == pytest.approx(d_r * r)
    assert discounted[counts == 6][0] == 6.0  # above k = 5: not discounted


def test_kneser_ney_unk_probability_is_the_uniform_share(train_sentences) -> None:
    model = fit_ngram(train_sentences, order=3, smoothing="kneser-ney")
    # <unk> never seen: all its probability comes from gamma() / |V| at the unigram level
    assert model.logprob_of("<unk>") == model.logprob_of("never-seen-word")
    assert model.logprob_of("zebra", ["the", "cat"]) < model.logprob_of("zebra")  # backoff weights < 1
