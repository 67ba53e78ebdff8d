"""The n-gram recipes: train a model from a file, evaluate, score, generate.

    corpus file -> sentences of tokens -> vocabulary -> padded ids -> counts
    -> smoothing (backoff tables) -> NgramModel -> ARPA file
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lmforge.errors import ConfigError, DataError
from lmforge.lm.arpa import read_arpa
from lmforge.lm.config import SMOOTHINGS, NgramTrainConfig
from lmforge.lm.corpus import (
    BOS,
    EOS,
    LINE_END,
    UNK,
    nonblank_lines,
    pad,
    read_text,
    read_tokens,
    sentence_tokens,
)
from lmforge.lm.counting import count_ngrams
from lmforge.lm.model import NgramModel

log = logging.getLogger(__name__)


def vocabulary_ids(tokens: Sequence[str], min_count: int = 1) -> tuple[list[str], np.ndarray]:
    """(vocabulary, id of every token) for flat tokens of ``text_tokens``/``sentence_tokens``.

    The vocabulary is ``<unk> <s> </s>``, then the words seen at least
    ``min_count`` times in order of first use; rarer words get the id of ``<unk>``.
    Ids are handed out by a ``defaultdict`` whose factory is a counter, so the
    whole mapping runs in C (``map``), not in a Python loop.
    """
    index: defaultdict[str, int] = defaultdict(itertools.count(3).__next__)
    index.update({UNK: 0, BOS: 1, EOS: 2, LINE_END["char"]: 2})
    ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    vocab = [w for w in index if w != LINE_END["char"]]
    if min_count > 1:
        keep = np.bincount(ids, minlength=len(vocab)) >= min_count
        keep[:3] = True
        new_id = np.where(keep, np.cumsum(keep) - 1, 0)
        ids = new_id[ids]
        vocab = [w for w, kept in zip(vocab, keep.tolist(), strict=True) if kept]
    return vocab, ids


def fit_ngram(sentences: Sequence[Sequence[str]], *, order: int = 3,
              smoothing: str = "modified-kneser-ney", min_count: int = 1, k: float = 1.0,
              discount: float | Sequence[float] | None = None, backoff: float = 0.4,
              level: str = "word", lowercase: bool = False) -> NgramModel:
    """Estimate an n-gram model from tokenized sentences (see ``NgramTrainConfig`` for the
    arguments; ``level``/``lowercase`` only record how ``sentences`` were tokenized, so
    that ``model.score(text)`` tokenizes text the same way)."""
    discount_text = None
    if isinstance(discount, Sequence):
        discount_text = ",".join(str(d) for d in discount)
    elif discount is not None:
        discount_text = str(discount)
    config = NgramTrainConfig(corpus="<sentences>", out="<memory>", order=order, smoothing=smoothing,
                              level=level, lowercase=lowercase, min_count=min_count, k=k,
                              discount=discount_text, backoff=backoff)
    config.validate()
    return fit_tokens(sentence_tokens(sentences), config)


def fit_tokens(tokens: Sequence[str], config: NgramTrainConfig) -> NgramModel:
    """Estimate a model from flat tokens (``text_tokens``); ``config`` is assumed valid."""
    from lmforge.lm import smoothing as sm

    vocab, ids = vocabulary_ids(tokens, config.min_count)
    padded = pad(ids, bos=1, eos=2, unk=0)
    if padded.n_sentences == 0:
        raise DataError("no sentences to train on: the corpus is empty.")
    counts = count_ngrams(padded, len(vocab), config.order, bos=1)
    name = config.smoothing
    if name in ("kneser-ney", "modified-kneser-ney"):
        tables = sm.kneser_ney(counts, modified=name == "modified-kneser-ney", fixed=config.discounts())
    elif name == "katz-backoff":
        tables = sm.katz_backoff(counts)
    elif name == "stupid-backoff":
        tables = sm.stupid_backoff(counts, config.backoff)
    elif name == "add-k":
        tables = sm.add_k(counts, config.k)
    else:  # validate() refuses it first; kept for callers that skip validation
        raise ConfigError(f"smoothing: unknown '{name}'; valid: {', '.join(SMOOTHINGS)}")
    return NgramModel(vocab=vocab, keys=counts.keys, logprob=tables.logprob,
                      logbackoff=tables.logbackoff, smoothing=name, level=config.level,
                      lowercase=config.lowercase)


def train_ngram(config: NgramTrainConfig) -> NgramModel:
    """``lmforge ngram train``: read ``config.corpus``, fit, write the ARPA file ``config.out``."""
    config.validate()
    start = time.perf_counter()
    tokens = read_tokens(config.corpus, config.level, config.lowercase, what="corpus")
    model = fit_tokens(tokens, config)
    log.info("fitted %s order-%d model (%s n-grams) in %.2f s", config.smoothing, config.order,
             " + ".join(map(str, model.ngram_counts())), time.perf_counter() - start)
    model.save(config.out)
    return model


def load_ngram(path: str | Path) -> NgramModel:
    """Load an ARPA model (written by ``train_ngram``, KenLM or SRILM)."""
    return read_arpa(path)


def evaluate_ngram(model: NgramModel, text_path: str | Path) -> dict[str, float | int]:
    """Perplexity and OOV rate of ``model`` on a text file (one sentence per line)."""
    return evaluate_ngram_text(model, read_text(text_path, what="text"), str(text_path))


def evaluate_ngram_text(model: NgramModel, text: str, source: str = "--text") -> dict[str, float | int]:
    """Perplexity and OOV rate of ``model`` on ``text`` (one sentence per line); ``source``
    names it in errors."""
    padded = model.encode_text(text, source=source)
    if padded.n_sentences == 0:
        raise DataError(f"{source}: the text file has no text (every line is blank). "
                        "Give a file with one sentence per line.")
    if not model.is_normalised:
        log.warning("%s scores are not probabilities; its 'perplexity' only ranks texts",
                    model.smoothing)
    return model.evaluate(padded)


def score_ngram(model: NgramModel, text_path: str | Path) -> list[tuple[float, str]]:
    """(log10 p with <s> and </s>, the line) for every non-blank line of a text file."""
    text = read_text(text_path, what="text")
    return score_lines(model, text, source=str(text_path))


def score_lines(model: NgramModel, text: str, *, source: str = "<text>") -> list[tuple[float, str]]:
    """(log10 p with <s> and </s>, the line) for every non-blank line of ``text``."""
    scores = model.sentence_logprobs(model.encode_text(text, source=source)).tolist()
    return list(zip(scores, nonblank_lines(text), strict=True))
