"""Kneser-Ney agrees with NLTK's ``KneserNeyInterpolated`` where the definitions match.

Definitional differences, and how this test lines the two up:

1. Padding. NLTK's ``padded_everygram_pipeline`` pads with ``order - 1``
   ``<s>`` and ``</s>``; we (KenLM, SRILM) use one of each. NLTK is fitted here
   on our n-grams (``everygrams`` of ``<s> w.. </s>``), so both count the same.
2. Discounts. NLTK uses one fixed discount (default 0.1) at every order above
   the unigrams and does not discount unigrams at all: its unigram level is
   the continuation distribution N1+(. w) / N1+(. .), with no uniform share, so
   an unseen word gets probability 0. Ours estimates discounts per order and
   discounts unigrams too, interpolating with 1/|V| (that is where <unk> gets
   its mass). ``discount=[0, d, d, ..]`` makes ours use NLTK's discounts.
3. Contexts that start with ``<s>`` below the top order. Nothing precedes
   ``<s>``, so their continuation counts are all 0: we (like KenLM) use raw
   counts there; NLTK divides by the zero total (ZeroDivisionError). NLTK's
   raw-count estimate at such a context is its top order: for the token at
   position i < order - 1 of a sentence, an NLTK model of order i + 2 gives
   exactly our probability, so the test scores those tokens with it.

With these, every per-token probability agrees to ~1e-16 and perplexity to 1e-6.
"""

from __future__ import annotations

import importlib
import math

import pytest

from lmforge.lm import fit_ngram

# dev dependencies: missing means a broken install, not a skip. (``import nltk.util as x``
# binds nltk.stem.util here: nltk's package namespace shadows it.)
nltk_lm = importlib.import_module("nltk.lm")
nltk_util = importlib.import_module("nltk.util")

DISCOUNT = 0.1


def nltk_kneser_ney(order: int, sentences: list[list[str]]):
    model = nltk_lm.KneserNeyInterpolated(order, discount=DISCOUNT)
    model.fit([list(nltk_util.everygrams(["<s>", *s, "</s>"], max_len=order)) for s in sentences],
              vocabulary_text=[w for s in sentences for w in s] + ["<s>", "</s>"])
    return model


@pytest.mark.parametrize("order", [2, 3, 4])
def test_kneser_ney_matches_nltk(order: int, train_sentences: list[list[str]],
                                 test_sentences: list[list[str]]) -> None:
    train = train_sentences[:120]  # NLTK's scoring scans every n-gram per query: keep it small
    vocab = {w for s in train for w in s}
    test = [s for s in test_sentences if set(s) <= vocab][:25]  # NLTK gives unseen words p = 0
    ours = fit_ngram(train, order=order, smoothing="kneser-ney",
                     discount=[0.0] + [DISCOUNT] * (order - 1))
    theirs = {k: nltk_kneser_ney(k, train) for k in range(2, order + 1)}
    nltk_log, n = 0.0, 0
    for sentence in test:
        padded = ["<s>", *sentence, "</s>"]
        for i in range(1, len(padded)):
            context = padded[max(0, i - order + 1) : i]
            p_nltk = theirs[min(order, i + 1)].score(padded[i], context)
            p_ours = 10 ** ours.logprob_of(padded[i], context)
            assert p_ours == pytest.approx(p_nltk, abs=1e-12), (padded[i], context)
            nltk_log += math.log(p_nltk)
            n += 1
    nltk_perplexity = math.exp(-nltk_log / n)
    assert ours.evaluate(test)["perplexity"] == pytest.approx(nltk_perplexity, rel=1e-6, abs=1e-6)


def test_nltk_fails_where_we_use_raw_counts(train_sentences: list[list[str]]) -> None:
    """Difference 3 above: NLTK's lower-order <s> context has a zero total."""
    model = nltk_kneser_ney(3, train_sentences[:30])
    with pytest.raises(ZeroDivisionError):
        model.score(train_sentences[0][0], ["<s>"])
