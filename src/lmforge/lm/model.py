"""The n-gram model: ARPA backoff tables, scored with vectorised lookups.

Scoring follows the ARPA backoff rule (as KenLM and SRILM do)::

    log p(w | h) = log p*(h w)                    if "h w" is in the table
                 = log bo(h) + log p(w | h')      otherwise (log bo(h) = 0 if h is not)

For every position of a padded corpus the row of the k-gram ending there is
looked up in a hash table of the int64 keys of order k (``counting``,
``hashing``), one order at a time for all positions at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lmforge.errors import ConfigError, DataError
from lmforge.lm.corpus import (
    BOS,
    EOS,
    LINE_END,
    UNK,
    PaddedIds,
    encode,
    sentence_tokens,
    text_tokens,
    tokenize,
)
from lmforge.lm.hashing import KeyIndex


def lookup(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Row of each query key in the sorted ``keys``, -1 where absent (binary search: for
    one-off lookups; ``NgramModel.rows`` hashes for repeated ones)."""
    if len(keys) == 0:
        return np.full(len(queries), -1, dtype=np.int64)
    rows = np.searchsorted(keys, queries)
    np.minimum(rows, len(keys) - 1, out=rows)
    return np.where(keys[rows] == queries, rows, -1)


@dataclass(eq=False)
class NgramModel:
    """A backoff n-gram model: what an ARPA file holds, plus how to tokenize text for it.

    ``keys[k-1]`` are the sorted keys of the order-k n-grams (``counting``),
    ``logprob[k-1]`` their log10 probabilities, ``logbackoff[k-1]`` (orders
    1..order-1) their log10 backoff weights as contexts (0 when they are none).
    """

    vocab: list[str]
    keys: list[np.ndarray]
    logprob: list[np.ndarray]
    logbackoff: list[np.ndarray]
    smoothing: str = "unknown"
    level: str = "word"
    lowercase: bool = False
    index: dict[str, int] = field(init=False, repr=False)
    _hashed: dict[int, KeyIndex] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {word: i for i, word in enumerate(self.vocab)}
        for special in (BOS, EOS, UNK):
            if special not in self.index:
                raise DataError(f"the model's vocabulary lacks {special}; an n-gram model needs "
                                "<s>, </s> and <unk> among its unigrams.")
        self.bos, self.eos, self.unk = self.index[BOS], self.index[EOS], self.index[UNK]
        self.index[LINE_END["char"]] = self.eos  # ends lines in text_tokens; never a word

    def rows(self, order: int, keys: np.ndarray) -> np.ndarray:
        """Row of each order-``order`` key in the model's table, -1 where absent."""
        if order not in self._hashed:  # built on first use: ~0.1 s per million n-grams
            self._hashed[order] = KeyIndex(self.keys[order - 1])
        return self._hashed[order].rows(keys)

    @property
    def order(self) -> int:
        return len(self.keys)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def is_normalised(self) -> bool:
        """Whether scores are probabilities (False for stupid backoff)."""
        return self.smoothing != "stupid-backoff"

    def ngram_counts(self) -> list[int]:
        return [len(k) for k in self.keys]

    # ------------------------------------------------------------ scoring

    def tokenize(self, text: str) -> list[str]:
        """Tokens of one sentence, the way the training text was tokenized."""
        return tokenize(text, self.level, self.lowercase)

    def encode(self, sentences: Sequence[Sequence[str]]) -> PaddedIds:
        """Token lists -> padded ids (empty sentences are dropped)."""
        return encode(sentence_tokens(sentences), self.index, bos=self.bos, eos=self.eos, unk=self.unk)

    def encode_text(self, text: str, *, source: str = "<text>") -> PaddedIds:
        """Text, one sentence per line, tokenized like the training text -> padded ids
        (blank lines are dropped)."""
        tokens = text_tokens(text, self.level, self.lowercase, source=source)
        return encode(tokens, self.index, bos=self.bos, eos=self.eos, unk=self.unk)

    def token_logprobs(self, padded: PaddedIds) -> np.ndarray:
        """log10 p of every predicted token (each word and each ``</s>``), in corpus order."""
        ids, offset = padded.ids, padded.offset
        targets = padded.predicted
        result = self.logprob[0][ids[targets]].copy()
        backoff = np.zeros(len(targets))
        row_at = ids  # row of the (k-1)-gram ending at each position, -1 if not in the model
        for k in range(2, self.order + 1):
            ends = np.flatnonzero((offset >= k - 1) & (np.roll(row_at, 1) >= 0))
            next_row = np.full(len(ids), -1, dtype=np.int64)
            next_row[ends] = self.rows(k, row_at[ends - 1] * self.vocab_size + ids[ends])
            context = row_at[targets - 1]  # -1 where the sentence is too short or h is unseen
            found = next_row[targets]
            hit = found >= 0
            result[hit] = self.logprob[k - 1][found[hit]]
            backoff[hit] = 0.0
            backed_off = ~hit & (context >= 0)
            backoff[backed_off] += self.logbackoff[k - 2][context[backed_off]]
            row_at = next_row
        return result + backoff

    def sentence_logprobs(self, padded: PaddedIds) -> np.ndarray:
        """log10 p of each sentence, ``<s>`` and ``</s>`` included (KenLM's convention)."""
        if padded.n_sentences == 0:
            return np.zeros(0)
        first = np.zeros(padded.n_sentences, dtype=np.int64)
        np.cumsum(padded.lengths[:-1] + 1, out=first[1:])
        return np.add.reduceat(self.token_logprobs(padded), first)

    def score_sentences(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """log10 p of each tokenized sentence (an empty one scores as ``<s> </s>``)."""
        if not all(sentences):  # pad() drops empty sentences; score them one by one
            return np.array([self.sentence_logprobs(self.encode([s]))[0] if s else
                             self.logprob_of(EOS, [BOS]) for s in sentences])
        return self.sentence_logprobs(self.encode(sentences))

    def score_text(self, text: str) -> np.ndarray:
        """log10 p of each non-blank line of ``text`` (tokenized like the training text)."""
        return self.sentence_logprobs(self.encode_text(text))

    def score(self, text: str) -> float:
        """log10 p of one sentence given as text (tokenized like the training text)."""
        return float(self.score_sentences([self.tokenize(text)])[0])

    def evaluate(self, sentences: Sequence[Sequence[str]] | PaddedIds) -> dict[str, float | int]:
        """Perplexity (with and without OOV tokens, as KenLM reports) and OOV rate.

        Every word and every ``</s>`` is predicted; OOV words are scored as ``<unk>``.
        """
        padded = sentences if isinstance(sentences, PaddedIds) else self.encode(sentences)
        if padded.n_sentences == 0:
            raise DataError("no sentences to evaluate: the text is empty.")
        per_token = self.token_logprobs(padded)
        targets = padded.predicted
        oov = padded.ids[targets] == self.unk
        n_tokens = int(padded.lengths.sum())
        total = float(per_token.sum())
        n_predicted = len(per_token)
        n_known = n_predicted - int(oov.sum())
        return {
            "perplexity": 10.0 ** (-total / n_predicted),
            "perplexity_excluding_oov": (10.0 ** (-float(per_token[~oov].sum()) / n_known)
                                         if n_known else math.nan),
            "oov_rate": padded.n_oov / n_tokens if n_tokens else 0.0,
            "log10_prob": total,
            "sentences": padded.n_sentences,
            "tokens": n_tokens,
            "oov": padded.n_oov,
        }

    def _row(self, ids: Sequence[int]) -> int:
        """Row of the n-gram ``ids`` in its order's table, -1 if absent."""
        row = ids[0]
        for k, word in enumerate(ids[1:], start=2):
            if k > self.order:
                return -1
            row = int(self.rows(k, np.array([row * self.vocab_size + word]))[0])
            if row < 0:
                return -1
        return row

    def next_logprobs(self, context: Sequence[str]) -> np.ndarray:
        """log10 p(w | context) for every vocabulary id ``w`` (``<s>`` included, at -99).

        ``context`` are tokens after ``<s>``; pass ``["<s>", ...]`` explicitly to
        mean the sentence start.
        """
        ids = [self.index.get(t, self.unk) for t in context]
        ids = ids[max(0, len(ids) - (self.order - 1)):] if self.order > 1 else []
        out = self.logprob[0].copy()
        for k in range(2, len(ids) + 2):
            row = self._row(ids[len(ids) - (k - 1):])
            if row < 0:
                break  # a longer context cannot be in the model either
            out += self.logbackoff[k - 2][row]
            lo, hi = np.searchsorted(self.keys[k - 1], [row * self.vocab_size, (row + 1) * self.vocab_size])
            out[self.keys[k - 1][lo:hi] % self.vocab_size] = self.logprob[k - 1][lo:hi]
        return out

    def logprob_of(self, word: str, context: Sequence[str] = ()) -> float:
        """log10 p(word | context) (context tokens as in ``next_logprobs``)."""
        return float(self.next_logprobs(context)[self.index.get(word, self.unk)])

    # ------------------------------------------------------------ generation

    def generate(self, n: int = 1, *, max_tokens: int = 50, seed: int = 0,
                 prompt: Sequence[str] = (), allow_unk: bool = False) -> list[list[str]]:
        """Sample ``n`` sentences (token lists, prompt included), each until ``</s>`` or
        ``max_tokens``. Scores are renormalised over the words allowed (``<s>`` never,
        ``<unk>`` only with ``allow_unk``), which also makes stupid backoff sampleable."""
        if n < 0 or max_tokens < 1:
            raise ConfigError(f"generate: need n >= 0 and max_tokens >= 1, got n={n}, "
                              f"max_tokens={max_tokens}")
        rng = np.random.default_rng(seed)
        banned = [self.bos] + ([] if allow_unk else [self.unk])
        out = []
        for _ in range(n):
            tokens = [BOS, *prompt]
            while len(tokens) - 1 < max_tokens:
                logp = self.next_logprobs(tokens)
                prob = np.power(10.0, logp - logp.max())
                prob[banned] = 0.0
                word = self.vocab[int(rng.choice(self.vocab_size, p=prob / prob.sum()))]
                if word == EOS:
                    break
                tokens.append(word)
            out.append(tokens[1:])
        return out

    def detokenize(self, tokens: Sequence[str]) -> str:
        return ("" if self.level == "char" else " ").join(tokens)

    # ------------------------------------------------------------ files

    def save(self, path: str | Path) -> None:
        """Write the model as an ARPA file (see ``lmforge.lm.arpa``)."""
        from lmforge.lm.arpa import write_arpa

        write_arpa(self, path)
