"""TF-IDF features + a linear model: fitted in seconds on a CPU, saved as plain numbers.

Features are word 1-2-grams, or character 1-3-grams when most letters are Chinese,
Japanese or Korean: those languages put no spaces between words, so a "word" would
be a whole clause seen once. Weights are sublinear tf (1 + log tf) times smoothed
idf, rows L2-normalised: scikit-learn's TfidfTransformer formula, computed here so
that fitting and loading share one code path, and the saved model is a vocabulary
(JSON) and arrays (``.npz`` read with ``allow_pickle=False``), not a pickle that
runs code when loaded.

Sentence pairs (``data.pairs``): one vocabulary over both sides; a pair's features are
the TF-IDF rows of its first and of its second text side by side, plus two overlap
features, the cosine of the two rows and the share of shared n-grams (Jaccard),
so the linear model sees both what each side says and how much they agree — the
classic lexical-overlap baseline for entailment and paraphrase.

Models: logistic regression (single-label; multinomial), one logistic regression
per label (multi-label, one-vs-rest), ridge regression (regression). ``scores``
returns what ``logits_to_outputs`` expects: logits whose softmax (single) or
sigmoid (multi) are the model's probabilities, or the predicted value.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

WORD_TOKEN_PATTERN = r"(?u)\b\w+\b"  # the word analyzer's tokens: one-letter words count

log = logging.getLogger(__name__)

MAX_FEATURES = 200_000  # the most frequent n-grams; more only grows the file
CJK_CHAR_NGRAMS_FROM = 0.3  # share of CJK letters from which character n-grams are used
# Inverse regularisation strength of the logistic regressions. On L2-normalised
# tf-idf rows scikit-learn's default C=1 under-fits: on the bundled Rotten Tomatoes
# split, validation accuracy was 0.743 (C=1), 0.755 (C=4), 0.758 (C=10); on the
# Chinese reviews 0.845, 0.854, 0.856.
LOGREG_C = 10.0
RIDGE_ALPHA = 1.0
CONSTANT_LOGIT = 8.0  # a label present in every (or no) training text: sigmoid(8) = 0.9997
VOCABULARY_FILE = "tfidf.json"
WEIGHTS_FILE = "tfidf_weights.npz"
FORMAT = "lmforge-tfidf"
FORMAT_VERSION = 1
ESTIMATORS = {"single": "logistic regression", "multi": "one-vs-rest logistic regression",
              "regression": "ridge regression"}


@dataclass(frozen=True)
class FeatureSpec:
    analyzer: str  # "word" or "char"
    ngram_range: tuple[int, int]
    reason: str


def choose_features(texts: Sequence[str]) -> FeatureSpec:
    """Word 1-2-grams, or character 1-3-grams for text that is mostly CJK letters."""
    from lmforge.data.scripts import cjk_share

    share = cjk_share(texts)
    if share >= CJK_CHAR_NGRAMS_FROM:
        return FeatureSpec("char", (1, 3), f"{share:.0%} of letters are Chinese/Japanese/Korean "
                           f"(at least {CJK_CHAR_NGRAMS_FROM:.0%}): character 1-3-grams")
    return FeatureSpec("word", (1, 2), f"{share:.0%} of letters are Chinese/Japanese/Korean "
                       f"(under {CJK_CHAR_NGRAMS_FROM:.0%}): word 1-2-grams")


def _vectorizer(spec: FeatureSpec, vocabulary: dict[str, int] | None = None) -> Any:
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    # one-letter words count ("a", "I", "5"); sklearn warns when a char analyzer gets a pattern
    words = {"token_pattern": WORD_TOKEN_PATTERN} if spec.analyzer == "word" else {}
    return CountVectorizer(analyzer=spec.analyzer, ngram_range=spec.ngram_range, lowercase=True,
                           max_features=None if vocabulary else MAX_FEATURES,
                           vocabulary=vocabulary, dtype=np.float32, **words)


_WORD = re.compile(WORD_TOKEN_PATTERN)
_WHITE_SPACES = re.compile(r"\s\s+")


def analyze(text: str, spec: FeatureSpec) -> list[str]:
    """The n-grams ``CountVectorizer(analyzer=spec.analyzer, lowercase=True, ...)`` takes from
    ``text`` (same multiset: lowercased; word n-grams of ``WORD_TOKEN_PATTERN`` tokens, or
    character n-grams with runs of whitespace as one space), so that scoring needs no sklearn."""
    text = text.lower()
    low, high = spec.ngram_range
    if spec.analyzer == "word":
        tokens = _WORD.findall(text)
        return [" ".join(tokens[i:i + n]) for n in range(low, high + 1)
                for i in range(len(tokens) - n + 1)]
    text = _WHITE_SPACES.sub(" ", text)
    return [text[i:i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1)]


def _weigh(counts: Any, idf: Any) -> Any:
    """Counts -> sublinear tf x idf, L2-normalised rows (TfidfTransformer's formula)."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    x = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    np.log(x.data, out=x.data)
    x.data += 1.0
    x = x @ sp.diags(idf.astype(np.float32))
    return normalize(x, norm="l2", copy=False)


@dataclass
class TfidfModel:
    """A fitted vectorizer + linear model. ``coef`` is (k, n_features), ``intercept`` (k,);
    k is the number of labels (a binary task keeps a zero row for the first class)."""

    task: str
    labels: list[str]
    spec: FeatureSpec
    vocabulary: list[str]
    idf: Any
    coef: Any
    intercept: Any
    settings: dict[str, Any]
    pair: bool = False  # sentence pairs: both sides' features and their overlap
    _vec: Any = field(default=None, init=False, repr=False, compare=False)
    _index: Any = field(default=None, init=False, repr=False, compare=False)

    def features(self, texts: Sequence[str]) -> Any:
        if self._vec is None:
            self._vec = _vectorizer(self.spec, {t: i for i, t in enumerate(self.vocabulary)})
        if self.pair:
            return pair_features(self._vec, self.idf, texts)
        return _weigh(self._vec.transform(_joined_as_words(texts)), self.idf)

    def scores(self, texts: Sequence[str]) -> Any:
        """(n, k) float32 logits (single/multi) or (n, 1) values (regression).

        Computed from ``analyze`` without sklearn or scipy (the same numbers as
        ``features(texts) @ coef.T + intercept``, tested): importing those two is most of the
        start-up of a run that predicts with a TF-IDF part."""
        import numpy as np

        if self.pair:  # both sides and their overlap: the sklearn path (pair runs only)
            if not len(texts):
                return np.zeros((0, self.coef.shape[0]), dtype=np.float32)
            return np.asarray(self.features(texts) @ self.coef.T + self.intercept,
                              dtype=np.float32)
        texts = _joined_as_words(texts)
        out = np.zeros((len(texts), self.coef.shape[0]), dtype=np.float32)
        if self._index is None:
            self._index = {term: i for i, term in enumerate(self.vocabulary)}
        index = self._index
        for row, text in enumerate(texts):
            counts = Counter(i for gram in analyze(text, self.spec)
                             if (i := index.get(gram)) is not None)
            out[row] = self.intercept
            if counts:
                ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
                weights = (np.log(tf) + 1.0) * self.idf[ids]  # sublinear tf x idf (see _weigh)
                weights /= np.linalg.norm(weights)
                out[row] += self.coef[:, ids] @ weights
        return out

    def describe(self) -> dict[str, Any]:
        """The ``features`` entry of metrics.json."""
        out = {"analyzer": self.spec.analyzer, "ngram_range": list(self.spec.ngram_range),
               "n_features": len(self.vocabulary), "reason": self.spec.reason,
               "estimator": ESTIMATORS[self.task], **self.settings}
        if self.pair:
            out["pair_features"] = PAIR_FEATURES
        return out


def fit_tfidf(task: str, texts: Sequence[str], targets: Sequence[Any], labels: Sequence[str],
              class_weight: str | None = None) -> TfidfModel:
    """Fit the vectorizer and the linear model on training texts (already cleaned)."""
    import numpy as np

    from lmforge.data.pairs import is_pair, split_pairs

    pair = any(is_pair(t) for t in texts)
    sides = [s for both in split_pairs(texts) for s in both] if pair else _joined_as_words(texts)
    spec = choose_features(sides)
    vec = _vectorizer(spec)
    try:
        counts = vec.fit_transform(sides)
    except ValueError as exc:  # sklearn: "empty vocabulary; perhaps the documents only contain stop words"
        raise ModelError(f"the TF-IDF baseline found no {spec.analyzer} n-grams in the training "
                         f"texts ({exc}). Check that the text column holds text.") from exc
    vocabulary = [""] * len(vec.vocabulary_)
    for term, i in vec.vocabulary_.items():
        vocabulary[i] = term
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
    x = pair_features(vec, idf, texts) if pair else _weigh(counts, idf)
    started = time.perf_counter()
    settings: dict[str, Any]
    if task == "single":
        coef, intercept, settings = _fit_single(x, targets, labels, class_weight)
    elif task == "multi":
        coef, intercept, settings = _fit_multi(x, targets, labels, class_weight)
    else:
        coef, intercept, settings = _fit_ridge(x, targets)
    log.debug("tf-idf: %d texts x %d features, fitted in %.2f s", n, len(vocabulary),
              time.perf_counter() - started)
    return TfidfModel(task, list(labels), spec, vocabulary, idf, coef.astype(np.float32),
                      intercept.astype(np.float32), settings, pair=pair)


PAIR_FEATURES = ("tf-idf of the first text", "tf-idf of the second text",
                 "cosine of the two", "shared n-grams / all n-grams of the two (Jaccard)")


def pair_features(vec: Any, idf: Any, texts: Sequence[str]) -> Any:
    """[tf-idf(first) | tf-idf(second) | cosine | Jaccard] of each sentence pair."""
    import numpy as np
    import scipy.sparse as sp

    from lmforge.data.pairs import split_pairs

    firsts, seconds = split_pairs(texts)
    counts_a, counts_b = vec.transform(firsts), vec.transform(seconds)
    xa, xb = _weigh(counts_a, idf), _weigh(counts_b, idf)
    cosine = np.asarray(xa.multiply(xb).sum(axis=1), dtype=np.float32).reshape(-1, 1)
    seen_a, seen_b = counts_a > 0, counts_b > 0
    shared = np.asarray(seen_a.multiply(seen_b).sum(axis=1), dtype=np.float32).ravel()
    union = np.asarray((seen_a + seen_b).sum(axis=1), dtype=np.float32).ravel()  # bool OR
    jaccard = (shared / np.maximum(union, 1.0)).reshape(-1, 1)
    return sp.hstack([xa, xb, sp.csr_matrix(cosine), sp.csr_matrix(jaccard)], format="csr")


def _joined_as_words(texts: Sequence[str]) -> list[str]:
    """Texts joined from several columns (``data.pairs.JOIN_MARK``) with plain spaces."""
    from lmforge.data.pairs import JOIN_MARK

    return [t.replace(JOIN_MARK, " ") if JOIN_MARK in t else t for t in texts]


def _fit_single(x: Any, targets: Sequence[Any], labels: Sequence[str],
                class_weight: str | None) -> tuple[Any, Any, dict[str, Any]]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[t] for t in targets])
    k = len(labels)
    # liblinear is 5-10x faster than lbfgs on two classes; for more, lbfgs fits the
    # multinomial model, whose softmax is the probability (liblinear's one-vs-rest is not)
    lr = LogisticRegression(C=LOGREG_C, max_iter=2000, class_weight=class_weight,
                            solver="liblinear" if k == 2 else "lbfgs")
    lr.fit(x, y)
    coef = np.zeros((k, x.shape[1]), dtype=np.float64)
    intercept = np.zeros(k, dtype=np.float64)
    if lr.coef_.shape[0] == 1:  # binary: one row for the second class; softmax([0, d]) = sigmoid(d)
        coef[int(lr.classes_[1])] = lr.coef_[0]
        intercept[int(lr.classes_[1])] = lr.intercept_[0]
    else:
        for row, cls in enumerate(lr.classes_):
            coef[int(cls)] = lr.coef_[row]
            intercept[int(cls)] = lr.intercept_[row]
    return coef, intercept, {"C": LOGREG_C, "class_weight": class_weight, "solver": lr.solver}


def _fit_multi(x: Any, targets: Sequence[Any], labels: Sequence[str],
               class_weight: str | None) -> tuple[Any, Any, dict[str, Any]]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    k = len(labels)
    coef = np.zeros((k, x.shape[1]), dtype=np.float64)
    intercept = np.zeros(k, dtype=np.float64)
    for j, label in enumerate(labels):
        y = np.array([1 if label in names else 0 for names in targets])
        if y.min() == y.max():  # LogisticRegression refuses a single class
            intercept[j] = CONSTANT_LOGIT if y[0] else -CONSTANT_LOGIT
            continue
        lr = LogisticRegression(C=LOGREG_C, max_iter=2000, class_weight=class_weight,
                                solver="liblinear").fit(x, y)
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    return coef, intercept, {"C": LOGREG_C, "class_weight": class_weight}


def _fit_ridge(x: Any, targets: Sequence[Any]) -> tuple[Any, Any, dict[str, Any]]:
    import numpy as np
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=RIDGE_ALPHA).fit(x, np.array([float(t) for t in targets]))
    return (np.asarray(ridge.coef_).reshape(1, -1), np.atleast_1d(ridge.intercept_),
            {"alpha": RIDGE_ALPHA})


# ------------------------------------------------------------------ files


def save_tfidf(model: TfidfModel, model_dir: Path) -> None:
    import numpy as np

    model_dir.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "task": model.task,
            "labels": model.labels, "analyzer": model.spec.analyzer,
            "ngram_range": list(model.spec.ngram_range), "reason": model.spec.reason,
            "settings": model.settings, "pair": model.pair, "vocabulary": model.vocabulary}
    (model_dir / VOCABULARY_FILE).write_text(json.dumps(meta, ensure_ascii=False),
                                            encoding="utf-8")
    np.savez_compressed(model_dir / WEIGHTS_FILE, idf=model.idf, coef=model.coef,
                        intercept=model.intercept)


def is_tfidf_dir(model_dir: Path) -> bool:
    return (model_dir / VOCABULARY_FILE).is_file()


def load_tfidf(model_dir: Path) -> TfidfModel:
    import numpy as np

    meta_path, weights_path = model_dir / VOCABULARY_FILE, model_dir / WEIGHTS_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read '{meta_path}': {exc}. Retrain with "
                         "`lmforge train --model tfidf`.") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"'{meta_path}' is not an lmforge TF-IDF model (no \"format\": "
                         f"\"{FORMAT}\"). Retrain with `lmforge train --model tfidf`.")
    if meta.get("version", 0) > FORMAT_VERSION:
        raise ModelError(f"'{meta_path}' was written by a newer lmforge (format version "
                         f"{meta['version']}); upgrade lmforge to load it.")
    if not weights_path.is_file():
        raise ModelError(f"'{weights_path}' is missing: the TF-IDF model's weights. Copy the "
                         "complete run directory, or retrain.")
    with np.load(weights_path, allow_pickle=False) as arrays:
        idf, coef, intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
    pair = bool(meta.get("pair", False))
    width = 2 * len(meta["vocabulary"]) + 2 if pair else len(meta["vocabulary"])
    if coef.shape[1] != width or idf.shape[0] != len(meta["vocabulary"]):
        raise ModelError(f"'{weights_path}' does not match '{meta_path}' ({coef.shape[1]} "
                         f"weights for {len(meta['vocabulary'])} n-grams). Retrain.")
    spec = FeatureSpec(meta["analyzer"], tuple(meta["ngram_range"]), meta.get("reason", ""))
    return TfidfModel(meta["task"], list(meta["labels"]), spec, list(meta["vocabulary"]), idf,
                      coef, intercept, dict(meta.get("settings") or {}), pair=pair)
