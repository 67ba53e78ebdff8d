"""The exact explanation of a TF-IDF run (``lmforge train --model tfidf``): its linear model's
own per-word contributions.

A TF-IDF run scores a text as ``w . x + b``: ``x`` the text's tf-idf weights (one per n-gram
of the vocabulary), ``w`` and ``b`` the linear model's coefficients and intercept for the
explained score. Each n-gram's contribution ``w_j * x_j`` is shared equally among its
occurrences in the text, and each occurrence's share equally among the words it spans
(a word bigram gives half to each word). The words' scores then sum to
``score(text) - score(empty text)`` = ``w . x`` exactly: completeness holds by
construction, not by approximation as with Integrated Gradients. Any contribution whose
n-gram could not be found in the text (the word splitting here drifting from the
vectorizer's) is left out and shows as a completeness gap rather than being hidden.

Single-label runs are explained on ``logit(target) - mean(logit(other labels))``, not on the
target's logit alone: a binary logistic regression stores the first label's logit as a
constant 0 (softmax([0, d]) = sigmoid(d)), which would explain nothing; the contrast is the
log-odds for two labels and is unchanged by the constant that softmax ignores for more.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from lmforge.explain.words import WordPieces
from lmforge.models.tfidf import WORD_TOKEN_PATTERN

WORD_PATTERN = re.compile(WORD_TOKEN_PATTERN)  # the tokens of the TF-IDF word analyzer
SPACE_RUNS = re.compile(r"\s\s+")  # sklearn's char analyzer collapses these to one space


def tfidf_words(text: str, analyzer: str) -> WordPieces:
    """The words of ``text`` as a TF-IDF run reads it (every word: there is no truncation).

    Word runs: the vectorizer's tokens. Character runs (mostly Chinese, Japanese or Korean
    text): each CJK letter is a word of its own, other runs of letters and digits a word,
    any other visible character a word.
    """
    if analyzer == "word":
        spans = [m.span() for m in WORD_PATTERN.finditer(text)]
    else:
        spans = _char_words(text)
    return WordPieces(text=text, ids=[], n_prefix=0, n_suffix=0,
                      words=[text[s:e] for s, e in spans], spans=spans,
                      positions=[[] for _ in spans], dropped=[], dropped_spans=[])


def _char_words(text: str) -> list[tuple[int, int]]:
    from lmforge.data.scripts import CJK_SCRIPTS, script_of

    spans: list[tuple[int, int]] = []
    start: int | None = None  # start of the current run of non-CJK letters/digits
    for i, ch in enumerate(text):
        alone = ch.isspace() or script_of(ch) in CJK_SCRIPTS or not ch.isalnum()
        if start is not None and alone:
            spans.append((start, i))
            start = None
        if ch.isspace():
            continue
        if alone:
            spans.append((i, i + 1))
        elif start is None:
            start = i
    if start is not None:
        spans.append((start, len(text)))
    return spans


def explained_weights(model: Any, target: int) -> tuple[Any, float, str]:
    """(w, b, name) of the score explained for label number ``target``; see the module doc."""
    coef, intercept = model.coef, model.intercept
    if model.task == "single" and coef.shape[0] > 1:
        others = [k for k in range(coef.shape[0]) if k != target]
        w = coef[target] - coef[others].mean(axis=0)
        b = float(intercept[target] - intercept[others].mean())
        name = "log-odds" if coef.shape[0] == 2 else "logit minus the other labels' mean logit"
        return w, b, name
    if model.task == "regression":
        return coef[0], float(intercept[0]), "value"
    return coef[target], float(intercept[target]), "logit"


def contrast_logits(model: Any, logits: Any, target: int) -> Any:
    """The explained score of each row of ``logits`` (what ``explained_weights`` gives)."""
    if model.task == "single" and logits.shape[1] > 1:
        others = [k for k in range(logits.shape[1]) if k != target]
        return logits[:, target] - logits[:, others].mean(axis=1)
    return logits[:, 0 if model.task == "regression" else target]


def word_contributions(model: Any, pieces: WordPieces, target: int) -> dict[str, Any]:
    """Per-word contributions to the explained score of ``pieces.text``, and its check."""
    import numpy as np

    w, b, name = explained_weights(model, target)
    x = model.features([pieces.text]).tocsr()
    occurrences = _ngram_occurrences(pieces, model.spec.analyzer, tuple(model.spec.ngram_range))
    scores = np.zeros(len(pieces.words), dtype=np.float64)
    for j, value in zip(x.indices, x.data, strict=True):
        contribution = float(w[j]) * float(value)
        places = occurrences.get(model.vocabulary[j])
        if not places:
            continue  # shows as the completeness gap
        for words in places:
            for word in words:
                scores[word] += contribution / len(places) / len(words)
    total = float(np.asarray(x @ w.astype(np.float64)).ravel()[0])
    gap = abs(float(scores.sum()) - total)
    return {"scores": scores.tolist(), "target_logit": total + b, "baseline_logit": b,
            "completeness_gap": gap, "relative_gap": gap / max(1.0, abs(total)), "score_of": name}


def _ngram_occurrences(pieces: WordPieces, analyzer: str,
                       ngram_range: tuple[int, int]) -> dict[str, list[list[int]]]:
    """n-gram (as in the vocabulary) -> the words of each of its occurrences in the text."""
    lo, hi = ngram_range
    found: dict[str, list[list[int]]] = defaultdict(list)
    if analyzer == "word":
        tokens = [w.lower() for w in pieces.words]
        for n in range(lo, hi + 1):
            for i in range(len(tokens) - n + 1):
                found[" ".join(tokens[i:i + n])].append(list(range(i, i + n)))
        return found
    # characters: the vectorizer's text (lower case, runs of spaces as one) with, for each
    # of its characters, the word it belongs to (None for spaces)
    word_of = {}
    for k, (start, end) in enumerate(pieces.spans):
        for c in range(start, end):
            word_of[c] = k
    chars: list[str] = []
    owners: list[int | None] = []
    cursor = 0
    text = pieces.text.lower()
    for m in SPACE_RUNS.finditer(text):
        for c in range(cursor, m.start()):
            chars.append(text[c])
            owners.append(word_of.get(c))
        chars.append(" ")
        owners.append(None)
        cursor = m.end()
    for c in range(cursor, len(text)):
        chars.append(text[c])
        owners.append(word_of.get(c))
    joined = "".join(chars)
    for n in range(lo, hi + 1):
        for i in range(len(joined) - n + 1):
            words = [o for o in owners[i:i + n] if o is not None]
            if words:  # an n-gram of spaces only belongs to no word
                found[joined[i:i + n]].append(words)
    return found
