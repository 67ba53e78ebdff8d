"""The n-gram recipes: train a model from a file, evaluate, score, generate.

    corpus file -> sentences of tokens -> vocabulary -> padded ids -> counts
    -> smoothing (backoff tables) -> NgramModel -> ARPA file
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
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
    PaddedIds,
    nonblank_lines,
    pad,
    read_text,
    read_text_chunks,
    sentence_tokens,
    text_tokens,
)
from lmforge.lm.counting import NgramCounts, count_ngrams, count_ngrams_chunked
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
    vocab, ids = vocabulary_ids(tokens, config.min_count)
    padded = pad(ids, bos=1, eos=2, unk=0)
    if padded.n_sentences == 0:
        raise DataError("no sentences to train on: the corpus is empty.")
    return fit_counts(vocab, count_ngrams(padded, len(vocab), config.order, bos=1), config)


def fit_counts(vocab: list[str], counts: NgramCounts, config: NgramTrainConfig) -> NgramModel:
    """Smooth the counts into a model."""
    from lmforge.lm import smoothing as sm

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


def train_ngram(config: NgramTrainConfig, *, chunk_tokens: int = 1 << 20,
                chunk_bytes: int = 1 << 22) -> NgramModel:
    """``lmforge ngram train``: read ``config.corpus``, fit, write the ARPA file ``config.out``.

    In bounded memory, for corpora larger than it: the file is read ``chunk_bytes`` at a
    time into token ids on disk, and counted ``chunk_tokens`` at a time
    (``count_ngrams_chunked``); only the n-gram tables (the model) are held whole. The
    ARPA file is the same, byte for byte, as ``fit_tokens`` on the whole file's tokens."""
    import tempfile

    config.validate()
    start = time.perf_counter()
    out_dir = Path(config.out).resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ngram-counts-", dir=out_dir) as work:
        workdir = Path(work)
        vocab, n_ids = stream_ids(config, workdir / "ids.int32", chunk_bytes)
        counts = count_ngrams_chunked(
            lambda: padded_chunks(workdir / "ids.int32", n_ids, vocab, chunk_tokens),
            len(vocab), config.order, bos=1, workdir=workdir)
    log.info("counted %d tokens in %.2f s", n_ids, time.perf_counter() - start)
    model = fit_counts(vocab, counts, config)
    log.info("fitted %s order-%d model (%s n-grams) in %.2f s", config.smoothing, config.order,
             " + ".join(map(str, model.ngram_counts())), time.perf_counter() - start)
    model.save(config.out)
    return model


def stream_ids(config: NgramTrainConfig, ids_path: Path,
               chunk_bytes: int) -> tuple[list[str], int]:
    """The corpus's token ids (``vocabulary_ids``'s, before ``min_count``) written to
    ``ids_path`` as int32, piece by piece; (vocabulary after ``min_count``, number of ids).
    Rare words are mapped to ``<unk>`` later, in ``padded_chunks``."""
    index: defaultdict[str, int] = defaultdict(itertools.count(3).__next__)
    index.update({UNK: 0, BOS: 1, EOS: 2, LINE_END["char"]: 2})
    n_ids = n_words = 0
    with open(ids_path, "wb") as out:
        for text, first_line in read_text_chunks(config.corpus, chunk_bytes=chunk_bytes):
            tokens = text_tokens(text, config.level, config.lowercase, source=str(config.corpus),
                                 first_line=first_line)
            ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
            n_ids += len(ids)
            n_words += int(np.count_nonzero(ids != 2))
            ids.astype(np.int32).tofile(out)
    if n_words == 0:
        raise DataError(f"{config.corpus}: the corpus file has no text (every line is blank). "
                        "Give a file with one sentence per line.")
    vocab = [w for w in index if w != LINE_END["char"]]
    if config.min_count > 1:
        seen = np.zeros(len(vocab), dtype=np.int64)
        for piece in _id_pieces(ids_path, n_ids, 1 << 24):
            seen += np.bincount(piece, minlength=len(vocab))
        keep = seen >= config.min_count
        keep[:3] = True
        np.save(ids_path.with_suffix(".new_id.npy"), np.where(keep, np.cumsum(keep) - 1, 0))
        vocab = [w for w, kept in zip(vocab, keep.tolist(), strict=True) if kept]
    return vocab, n_ids


def padded_chunks(ids_path: Path, n_ids: int, vocab: list[str],
                  chunk_tokens: int) -> Iterator[PaddedIds]:
    """The ids of ``stream_ids`` as padded pieces of about ``chunk_tokens`` ids, each of
    whole sentences (cut after a ``</s>``), rare words mapped to ``<unk>``. Read with
    plain file reads, not a memory map: mapped pages would count in the RSS as the file
    grows."""
    new_id_path = ids_path.with_suffix(".new_id.npy")
    new_id = np.load(new_id_path) if new_id_path.exists() else None
    carry = np.empty(0, dtype=np.int64)
    with open(ids_path, "rb") as stream:
        while True:
            block = np.fromfile(stream, dtype=np.int32, count=chunk_tokens).astype(np.int64)
            piece = np.concatenate([carry, block]) if len(carry) else block
            if not len(piece):
                return
            if len(block):
                ends = np.flatnonzero(piece == 2)
                if not len(ends):  # a sentence longer than a chunk: read on
                    carry = piece
                    continue
                piece, carry = piece[: ends[-1] + 1], piece[ends[-1] + 1 :]
            else:
                carry = np.empty(0, dtype=np.int64)
            if new_id is not None:
                piece = new_id[piece]
            padded = pad(piece, bos=1, eos=2, unk=0)
            if padded.n_sentences:
                yield padded


def _id_pieces(ids_path: Path, n_ids: int, size: int) -> Iterator[np.ndarray]:
    with open(ids_path, "rb") as stream:
        while len(piece := np.fromfile(stream, dtype=np.int32, count=size)):
            yield piece.astype(np.int64)


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
