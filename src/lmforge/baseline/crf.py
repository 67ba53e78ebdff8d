"""The CRF baseline of every token-classification run: ``sklearn-crfsuite`` on standard
word and character features, fitted on the run's training split and scored on the same
test sentences with the same scorer as the transformer (seconds to minutes on a CPU).

Features follow the sklearn-crfsuite CoNLL tutorial: the word, its lower case, suffixes
and prefixes, shape flags, and the same for the neighbours; for character-level Chinese,
the character and its neighbours within two, and the bigrams around it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

CRF_NAME = "CRF (sklearn-crfsuite)"
C1, C2, MAX_ITERATIONS = 0.1, 0.1, 100


def _shape(word: str) -> str:
    out = []
    for c in word:
        s = "X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c
        if not out or out[-1] != s:
            out.append(s)
    return "".join(out)[:8]


def word_features(tokens: Sequence[str], i: int) -> dict[str, Any]:
    word = tokens[i]
    feats: dict[str, Any] = {
        "bias": 1.0, "w": word.lower(), "suf3": word[-3:].lower(), "suf2": word[-2:].lower(),
        "pre3": word[:3].lower(), "title": word.istitle(), "upper": word.isupper(),
        "digit": word.isdigit(), "shape": _shape(word), "len": min(len(word), 8),
    }
    for offset in (-2, -1, 1, 2):
        j = i + offset
        if 0 <= j < len(tokens):
            other = tokens[j]
            feats[f"{offset}:w"] = other.lower()
            if abs(offset) == 1:
                feats[f"{offset}:suf3"] = other[-3:].lower()
                feats[f"{offset}:title"] = other.istitle()
                feats[f"{offset}:shape"] = _shape(other)
        else:
            feats[f"{offset}:edge"] = True
    return feats


def char_features(chars: Sequence[str], i: int) -> dict[str, Any]:
    def at(j: int) -> str:
        return chars[j] if 0 <= j < len(chars) else ("<s>" if j < 0 else "</s>")

    c = chars[i]
    return {
        "bias": 1.0, "c": c, "digit": c.isdigit(), "alpha": c.isascii() and c.isalpha(),
        "-2": at(i - 2), "-1": at(i - 1), "+1": at(i + 1), "+2": at(i + 2),
        "-1c": at(i - 1) + c, "c+1": c + at(i + 1), "-1+1": at(i - 1) + at(i + 1),
        "-2-1": at(i - 2) + at(i - 1), "+1+2": at(i + 1) + at(i + 2),
    }


def sentence_features(tokens: Sequence[str], unit: str) -> list[dict[str, Any]]:
    features = char_features if unit == "char" else word_features
    return [features(tokens, i) for i in range(len(tokens))]


def fit_crf(tokens: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], unit: str,
            max_iterations: int = MAX_ITERATIONS) -> Any:
    """A fitted ``sklearn_crfsuite.CRF`` (L-BFGS, L1 0.1 + L2 0.1, all transitions)."""
    import sklearn_crfsuite

    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=C1, c2=C2, max_iterations=max_iterations,
                               all_possible_transitions=True)
    crf.fit([sentence_features(t, unit) for t in tokens], [list(t) for t in tags])
    return crf


def predict_crf(crf: Any, tokens: Sequence[Sequence[str]], unit: str) -> list[list[str]]:
    return [list(p) for p in crf.predict([sentence_features(t, unit) for t in tokens])]


def fit_crf_baseline(parts: dict[str, Any], scheme: str, unit: str) -> dict[str, Any]:
    """metrics.json's ``baseline`` of a token run: the CRF fitted on ``parts["train"]``
    (lists of ``data.conll.Sentence``), scored on validation and test like the transformer.
    ``seconds`` is the fit alone."""
    import sklearn_crfsuite  # noqa: F401  (imported before the clock starts, like the TF-IDF's)

    from lmforge.eval.token_metrics import score_tags

    train = parts["train"]
    started = time.perf_counter()
    crf = fit_crf([s.tokens for s in train], [s.tags for s in train], unit)
    seconds = time.perf_counter() - started
    summary: dict[str, Any] = {"model": CRF_NAME, "seconds": seconds, "examples": len(train),
                               "features": f"{unit}-level features (window of 2 on each side), "
                                           f"L-BFGS, c1={C1}, c2={C2}, {MAX_ITERATIONS} iterations"}
    for name in ("test", "validation"):
        sentences = parts.get(name) or []
        if sentences:
            predicted = predict_crf(crf, [s.tokens for s in sentences], unit)
            summary[name] = score_tags([s.tags for s in sentences], predicted, scheme)
            summary[name].pop("confused", None)
    log.info("baseline (%s, %.1f s): test %s", CRF_NAME, seconds,
             {k: round(v, 4) for k, v in summary.get("test", {}).items()
              if k in ("f1", "accuracy")})
    return summary
