"""Estimators: n-gram counts -> ARPA backoff tables (log10 probability and backoff).

Every estimator returns the model in backoff form: for an n-gram ``h w`` in the
table, ``p(w | h)`` is stored; for one that is not, ``p(w | h) = bo(h) p(w | h')``
with ``h'`` = ``h`` minus its first word (``bo = 1`` for a context not in the
table). That is exactly what ARPA files hold and what KenLM computes, so a saved
model scores the same in KenLM as here.

Conventions shared by all smoothings (SRILM/KenLM's):

* The predicted vocabulary ``V`` is every word of the vocabulary, ``</s>`` and
  ``<unk>``, but not ``<s>`` (never predicted; stored with log10 p = -99).
* A zero probability is stored as log10 p = -99, as SRILM and KenLM do.

Interpolated Kneser-Ney (Chen & Goodman 1998; KenLM's ``lmplz``)::

    p(w|h) = (a(hw) - D(a(hw))) / a(h.) + gamma(h) p(w|h'),
    gamma(h) = sum_w D(a(hw)) / a(h.)

with ``a`` the raw count at the highest order and the continuation count
``N1+(. h w)`` below it -- except n-grams starting with ``<s>``, which keep
their raw count because nothing can precede ``<s>`` (as in KenLM). The
unigram level is discounted too and interpolated with the uniform
distribution ``1 / |V|``: that is where ``<unk>`` gets its probability
(``gamma() / |V|`` when ``<unk>`` was never seen in training).
Since ``alpha(hw) = 0`` for unseen ``hw``, storing the interpolated
``p(w|h)`` for seen n-grams and ``bo(h) = gamma(h)`` is exact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lmforge.lm.counting import NgramCounts

log = logging.getLogger(__name__)

LOG10_ZERO = -99.0
# lmplz --discount_fallback's defaults, used when counts of counts cannot give valid discounts
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
GOOD_TURING_MAX_COUNT = 5  # Katz (1987): counts above this are reliable, not discounted


@dataclass
class BackoffTables:
    logprob: list[np.ndarray]  # log10 p(w | h) per n-gram, per order
    logbackoff: list[np.ndarray]  # log10 bo(h) per n-gram of orders 1..order-1 (0 where none)


def to_log10(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(np.log10(p), LOG10_ZERO)


def _per_context(context: np.ndarray, values: np.ndarray, n_contexts: int) -> np.ndarray:
    return np.bincount(context, weights=values, minlength=n_contexts)


def _predicted_mask(counts: NgramCounts) -> np.ndarray:
    mask = np.ones(counts.vocab_size, dtype=bool)
    mask[counts.bos] = False
    return mask


# ---------------------------------------------------------------- Kneser-Ney

def adjusted_counts(counts: NgramCounts) -> list[np.ndarray]:
    """Raw counts at the top order; continuation counts N1+(. g) below, raw for <s>-initial g."""
    top = counts.order
    adjusted: list[np.ndarray] = [np.empty(0)] * top
    adjusted[top - 1] = counts.counts[top - 1].astype(np.float64)
    for k in range(top - 1, 0, -1):
        left_extensions = np.bincount(counts.suffix[k], minlength=len(counts.keys[k - 1]))
        adjusted[k - 1] = np.where(counts.bos_initial[k - 1], counts.counts[k - 1],
                                   left_extensions).astype(np.float64)
    adjusted[0][counts.bos] = 0.0
    return adjusted


def count_of_counts(values: np.ndarray, up_to: int) -> np.ndarray:
    """n[r] = how many n-grams have count r, for r = 0..up_to."""
    integral = values[values > 0].astype(np.int64)
    return np.bincount(np.minimum(integral, up_to + 1), minlength=up_to + 2)[: up_to + 1]


def kn_discounts(a: np.ndarray, order: int, *, modified: bool) -> tuple[float, float, float]:
    """(D1, D2, D3+) from counts of counts (Chen & Goodman 1998, eq. 26 and 2.4)."""
    n = count_of_counts(a, 4).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = n[1] / (n[1] + 2 * n[2])
        if modified:
            d = (1 - 2 * y * n[2] / n[1], 2 - 3 * y * n[3] / n[2], 3 - 4 * y * n[4] / n[3])
        else:
            d = (y, y, y)
    if all(np.isfinite(v) and 0 < v < i + 1 for i, v in enumerate(d)) and (modified or d[0] < 1):
        return float(d[0]), float(d[1]), float(d[2])
    fallback = FALLBACK_DISCOUNTS if modified else (FALLBACK_DISCOUNTS[0],) * 3
    log.warning("order %d: counts of counts n1..n4 = %s give no valid discounts (corpus too small?); "
                "using %s instead", order, [int(v) for v in n[1:]], fallback)
    return fallback


def _discount_of(a: np.ndarray, d: tuple[float, float, float]) -> np.ndarray:
    out = np.where(a >= 3, d[2], np.where(a == 2, d[1], d[0]))
    return np.where(a > 0, np.minimum(out, a), 0.0)


def kneser_ney(counts: NgramCounts, *, modified: bool,
               fixed: tuple[float, ...] | None = None) -> BackoffTables:
    """Interpolated (modified) Kneser-Ney; ``fixed`` = one discount per order instead of estimates.

    With ``fixed = (0, d, d, ..)`` this is NLTK's ``KneserNeyInterpolated(discount=d)``
    (its unigram level is the undiscounted continuation distribution) wherever
    NLTK's definitions agree with ours; see tests/lm/test_nltk_agreement.py.
    """
    adjusted = adjusted_counts(counts)
    predicted = _predicted_mask(counts)
    n_predicted = int(predicted.sum())
    logprob: list[np.ndarray] = []
    logbackoff: list[np.ndarray] = []
    prob_lower = np.empty(0)
    for k in range(1, counts.order + 1):
        a = adjusted[k - 1]
        d = (fixed[k - 1],) * 3 if fixed is not None else kn_discounts(a, k, modified=modified)
        discount = _discount_of(a, d)
        log.debug("order %d: discounts %s", k, d)
        if k == 1:
            total = a.sum()
            gamma = discount.sum() / total
            prob = (a - discount) / total + gamma / n_predicted
            prob[~predicted] = 0.0
        else:
            context = counts.context(k)
            n_contexts = len(counts.keys[k - 2])
            total = _per_context(context, a, n_contexts)
            with np.errstate(divide="ignore", invalid="ignore"):
                gamma = np.where(total > 0, _per_context(context, discount, n_contexts) / total, 1.0)
            prob = (a - discount) / total[context] + gamma[context] * prob_lower[counts.suffix[k - 1]]
            logbackoff.append(np.where(total > 0, to_log10(gamma), 0.0))
        logprob.append(to_log10(prob))
        prob_lower = prob
    return BackoffTables(logprob=logprob, logbackoff=logbackoff)


# ---------------------------------------------------------------- backoff (Katz, add-k)

def _backoff_weights(context: np.ndarray, prob_seen: np.ndarray, prob_lower_seen: np.ndarray,
                     n_contexts: int, has_children: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Katz's alpha(h) = (1 - sum_seen p(w|h)) / (1 - sum_seen p(w|h')), seen = words after h.

    Where the lower order leaves no mass for the words unseen after ``h`` (it has
    put all of it on words seen after ``h``), the seen probabilities are scaled
    to sum to 1 instead, so that every context stays normalised.
    """
    seen = _per_context(context, prob_seen, n_contexts)
    lower = _per_context(context, prob_lower_seen, n_contexts)
    leftover = np.maximum(1.0 - seen, 0.0)
    room = 1.0 - lower
    stuck = has_children & (room <= 1e-12) & (leftover > 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(has_children & ~stuck, leftover / np.where(room > 0, room, 1.0), 1.0)
        alpha = np.where(stuck, 0.0, alpha)
        scale = np.where(stuck, 1.0 / seen, 1.0)
    if stuck.any():
        log.info("%d contexts: the lower order leaves no probability for unseen words; "
                    "their seen words are renormalised", int(stuck.sum()))
    return alpha, prob_seen * scale[context]


def good_turing_discounted(c: np.ndarray, order: int,
                           max_count: int = GOOD_TURING_MAX_COUNT) -> np.ndarray:
    """Katz's discounted counts d_c * c, with d_c = 1 for c > max_count (k) and, below it,

    d_r = (r*/r - R) / (1 - R), r* = (r+1) n_{r+1} / n_r, R = (k+1) n_{k+1} / n_1.
    Small corpora make some n_r zero or a ratio fall outside (0, 1]; then k is
    lowered, and if no k >= 2 works the order falls back to absolute
    discounting, c - D with D = n1 / (n1 + 2 n2) (or 0.5), with a warning.
    """
    n = count_of_counts(c, max_count + 1).astype(np.float64)
    for k in range(max_count, 1, -1):
        with np.errstate(divide="ignore", invalid="ignore"):
            big_r = (k + 1) * n[k + 1] / n[1]
            r = np.arange(1, k + 1)
            ratio = ((r + 1) * n[r + 1] / (r * n[r]) - big_r) / (1 - big_r)
        if np.all(np.isfinite(ratio)) and np.all((ratio > 0) & (ratio <= 1)):
            table = np.ones(k + 2)
            table[1 : k + 1] = ratio
            return c * table[np.minimum(c, k + 1).astype(np.int64)]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = n[1] / (n[1] + 2 * n[2])
    if not (np.isfinite(d) and 0 < d < 1):
        d = FALLBACK_DISCOUNTS[0]
    log.warning("order %d: Good-Turing counts of counts %s are unusable (corpus too small?); "
                "using absolute discounting D = %.3f", order, [int(v) for v in n[1:]], d)
    return np.where(c > 0, c - d, 0.0)


def katz_backoff(counts: NgramCounts) -> BackoffTables:
    """Katz backoff with Good-Turing discounts (raw counts at every order).

    Unigrams are discounted too; their leftover mass (the Good-Turing estimate
    of an unseen word, about n1 / N) goes to ``<unk>``, shared uniformly with any
    other vocabulary word never seen (see ``_unigram``).
    """
    return _backoff_model(counts, lambda c, total, order: good_turing_discounted(c, order) / total)


def add_k(counts: NgramCounts, k: float) -> BackoffTables:
    """Add-k: a seen n-gram gets ``(c(hw) + k) / (c(h) + k |V|)``.

    The mass add-k keeps for the words unseen after ``h``, ``k (|V| - T(h)) /
    (c(h) + k |V|)``, is shared among them in proportion to the next lower
    order (Katz-style backoff) rather than uniformly: ARPA can only store one
    backoff weight per context. Unigrams are plain add-k, so at order 1 (and
    for a context never seen in training) this is exactly add-k.
    """
    n_predicted = counts.vocab_size - 1
    return _backoff_model(counts, lambda c, total, order: (c + k) / (total + k * n_predicted))


def _unigram(prob_seen: np.ndarray, c: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Unigram probabilities: the seen words' own, plus the leftover shared uniformly by the
    predicted words never seen (``<unk>`` at least), or by all of them if every one was seen."""
    prob = np.where(c > 0, prob_seen, 0.0)
    receivers = predicted & (c == 0)
    if not receivers.any():
        receivers = predicted
    prob[receivers] += max(1.0 - prob.sum(), 0.0) / receivers.sum()
    prob[~predicted] = 0.0
    return prob


def _backoff_model(counts: NgramCounts,
                   seen_prob: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> BackoffTables:
    """Backoff model from ``seen_prob(count, context_total, order)`` of the seen n-grams;
    each context's backoff weight makes it sum to 1 (``_backoff_weights``)."""
    predicted = _predicted_mask(counts)
    logprob: list[np.ndarray] = []
    logbackoff: list[np.ndarray] = []
    prob_lower = np.empty(0)
    for order in range(1, counts.order + 1):
        c = counts.counts[order - 1].astype(np.float64)
        if order == 1:
            c[~predicted] = 0.0
            prob = _unigram(seen_prob(c, np.full_like(c, c.sum()), 1), c, predicted)
        else:
            context = counts.context(order)
            n_contexts = len(counts.keys[order - 2])
            total = _per_context(context, c, n_contexts)
            alpha, prob = _backoff_weights(context, seen_prob(c, total[context], order),
                                           prob_lower[counts.suffix[order - 1]], n_contexts, total > 0)
            logbackoff.append(np.where(total > 0, to_log10(alpha), 0.0))
        logprob.append(to_log10(prob))
        prob_lower = prob
    return BackoffTables(logprob=logprob, logbackoff=logbackoff)


# ---------------------------------------------------------------- stupid backoff

def stupid_backoff(counts: NgramCounts, backoff: float = 0.4) -> BackoffTables:
    """Brants et al. (2007): S(w|h) = c(hw) / c(h), else ``backoff`` * S(w|h').

    Scores, not probabilities: they do not sum to 1 over the vocabulary, so the
    perplexity of this model is not a perplexity. Two choices ARPA forces or
    the paper leaves open: (1) the backoff factor is stored per context, so
    (as in any ARPA file) it applies only at contexts seen in training --
    Brants et al. also apply it for unseen ones; (2) S(w) = c(w) / N, and a
    word never seen in training (``<unk>``) is scored as if seen once, 1 / N.
    """
    logprob: list[np.ndarray] = []
    logbackoff: list[np.ndarray] = []
    log_factor = float(np.log10(backoff))
    for order in range(1, counts.order + 1):
        c = counts.counts[order - 1].astype(np.float64)
        if order == 1:
            score = np.maximum(c, 1.0) / c.sum()
            score[counts.bos] = 0.0
        else:
            context = counts.context(order)
            total = _per_context(context, c, len(counts.keys[order - 2]))
            score = c / total[context]
            logbackoff.append(np.where(total > 0, log_factor, 0.0))
        logprob.append(to_log10(score))
    return BackoffTables(logprob=logprob, logbackoff=logbackoff)
