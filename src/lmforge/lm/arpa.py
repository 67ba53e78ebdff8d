"""ARPA files: the text format of backoff n-gram models that KenLM, SRILM and others read.

::

    # lmforge-ngram: {"smoothing": "modified-kneser-ney", "level": "word", ...}
    \\data\\
    ngram 1=<count>
    ngram 2=<count>

    \\1-grams:
    <log10 p>\\t<w1>\\t<log10 backoff>     (backoff only where it is not 0)
    ...
    \\2-grams:
    <log10 p>\\t<w1> <w2>[\\t<log10 backoff>]
    ...
    \\end\\

The ``#`` header (ignored by KenLM, which allows ``#`` lines before ``\\data\\``)
records how to tokenize text for the model. Numbers are written with Python's
shortest round-trip repr, so writing and reading back gives identical scores.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lmforge.errors import DataError
from lmforge.lm.corpus import UNK, read_text
from lmforge.lm.counting import check_key_range
from lmforge.lm.model import NgramModel, lookup

log = logging.getLogger(__name__)

HEADER = "# lmforge-ngram: "
KENLM_MISSING_UNK = -100.0  # what KenLM gives <unk> when a model lacks it


# n-grams formatted, and characters parsed, at a time: bounds the memory big models need
CHUNK_LINES = 100_000
CHUNK_CHARS = 4_000_000


def _format_section(texts: np.ndarray, logprob: np.ndarray, logbackoff: np.ndarray | None) -> str:
    probs = logprob.tolist()
    if logbackoff is None:
        return "".join(f"{p!r}\t{t}\n" for p, t in zip(probs, texts.tolist(), strict=True))
    return "".join(f"{p!r}\t{t}\t{b!r}\n" if b else f"{p!r}\t{t}\n"
                   for p, t, b in zip(probs, texts.tolist(), logbackoff.tolist(), strict=True))


def write_arpa(model: NgramModel, path: str | Path) -> None:
    """Write ``model`` to ``path`` (through a temporary file, so no half-written model is left)."""
    path = Path(path)
    meta = {"smoothing": model.smoothing, "level": model.level, "lowercase": model.lowercase,
            "order": model.order}
    words = np.array(model.vocab, dtype=object)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.write(HEADER + json.dumps(meta) + "\n\n\\data\\\n")
            out.writelines(f"ngram {k}={n}\n" for k, n in enumerate(model.ngram_counts(), start=1))
            texts = words  # the text of every n-gram of the previous order
            for k in range(1, model.order + 1):
                out.write(f"\n\\{k}-grams:\n")
                keys = model.keys[k - 1]
                pieces = []
                for a in range(0, len(keys), CHUNK_LINES):
                    b = a + CHUNK_LINES
                    piece = words[a:b] if k == 1 else (texts[keys[a:b] // model.vocab_size] + " "
                                                       + words[keys[a:b] % model.vocab_size])
                    backoff = model.logbackoff[k - 1][a:b] if k < model.order else None
                    out.write(_format_section(piece, model.logprob[k - 1][a:b], backoff))
                    if 1 < k < model.order:
                        pieces.append(piece)
                if k > 1:
                    texts = np.concatenate(pieces) if pieces else np.zeros(0, dtype=object)
            out.write("\n\\end\\\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("wrote %s (%s n-grams)", path, " + ".join(str(n) for n in model.ngram_counts()))


class _Text:
    """The file's text, read line by line without splitting it all (1-based line numbers)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text, self.pos, self.number = path, text, 0, 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def line(self) -> str:
        end = self.text.find("\n", self.pos)
        return self.text[self.pos : end if end >= 0 else len(self.text)]

    def advance(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = end + 1 if end >= 0 else len(self.text)
        self.number += 1

    def skip_blank(self) -> None:
        while not self.at_end() and not self.line().strip():
            self.advance()

    def error(self, number: int, problem: str) -> DataError:
        return DataError(f"{self.path}, line {number}: {problem}")

    def expect(self, wanted: str, what: str) -> None:
        self.skip_blank()
        found = self.line().strip() if not self.at_end() else "the end of the file"
        if found != wanted:
            raise self.error(self.number, f"expected '{wanted}' ({what}), found '{found[:60]}'. "
                             "The file is not a complete ARPA model; re-create it with "
                             "`lmforge ngram train` or KenLM's lmplz.")
        self.advance()

    def block(self) -> tuple[str, int, int]:
        """(text, first line number, line count) of the lines up to the next blank line or
        section header; the position moves past them."""
        first = self.number
        if self.at_end() or not self.line().strip() or self.line().startswith("\\"):
            return "", first, 0
        stops = [i for i in (self.text.find("\n\n", self.pos), self.text.find("\n\\", self.pos)) if i >= 0]
        end = min(stops) if stops else len(self.text)
        body = self.text[self.pos : end].rstrip("\n")
        n_lines = body.count("\n") + 1
        self.pos, self.number = min(end + 1, len(self.text)), first + n_lines
        return body, first, n_lines


def read_arpa(path: str | Path) -> NgramModel:
    """Load an ARPA model (ours, KenLM's, SRILM's). Errors name the line that is wrong."""
    path = Path(path)
    text = _Text(path, read_text(path, what="model"))
    meta: dict = {}
    while not text.at_end() and text.line().strip() != "\\data\\":
        line = text.line().strip()
        if line.startswith(HEADER.strip()):
            try:
                meta = json.loads(line[len(HEADER.strip()):])
            except json.JSONDecodeError as exc:
                raise text.error(text.number, f"unreadable lmforge header ({exc}).") from exc
        elif line and not line.startswith("#"):
            raise text.error(text.number, f"expected '\\data\\' (the start of an ARPA model), found "
                             f"'{line[:60]}'. Is this an ARPA language model? Give --model a file "
                             "written by `lmforge ngram train` (or KenLM/SRILM).")
        text.advance()
    if text.at_end():
        text.pos, text.number = 0, 1
    text.expect("\\data\\", "the start of an ARPA model")
    counts = _counts(text)
    vocab: list[str] = []
    index: dict[str, int] = {}
    keys: list[np.ndarray] = []
    logprob: list[np.ndarray] = []
    logbackoff: list[np.ndarray] = []
    for k, count in enumerate(counts, start=1):
        text.expect(f"\\{k}-grams:", f"the start of the {k}-gram section")
        body, first, n_lines = text.block()
        if n_lines != count:
            where = first + min(n_lines, count)
            raise text.error(where, f"the {k}-gram section has {n_lines} lines where '\\data\\' announces "
                             f"{count} ('ngram {k}={count}'); fix the count or the section.")
        if k == 1:
            prob, backoff, words = _unigrams(text, body, first)
            vocab = words
            index = {w: i for i, w in enumerate(vocab)}
            if len(index) < len(vocab):
                firsts: dict[str, int] = {}
                again = next(j for j, w in enumerate(vocab) if firsts.setdefault(w, j) != j)
                raise text.error(first + again, f"the unigram '{vocab[again]}' appears twice "
                                 f"(first on line {first + firsts[vocab[again]]}).")
            if UNK not in index:
                log.warning("%s has no <unk>; unknown words get log10 p = %s, as in KenLM",
                            path, KENLM_MISSING_UNK)
                vocab.append(UNK)
                index[UNK] = len(vocab) - 1
                prob, backoff = np.append(prob, KENLM_MISSING_UNK), np.append(backoff, 0.0)
            keys.append(np.arange(len(vocab), dtype=np.int64))
        else:
            prob, backoff, ids = _ngrams(text, body, first, k, index)
            key = _keys(text, first, ids, vocab, keys)
            by_key = np.argsort(key, kind="stable")
            key, prob, backoff = key[by_key], prob[by_key], backoff[by_key]
            same = np.flatnonzero(key[1:] == key[:-1])
            if len(same):
                j, again = sorted((int(by_key[same[0]]), int(by_key[same[0] + 1])))
                raise text.error(first + again, f"the {k}-gram '{_words(ids[again], vocab)}' appears "
                                 f"twice (first on line {first + j}).")
            keys.append(key)
        logprob.append(prob)
        logbackoff.append(backoff)
    text.expect("\\end\\", "the end of the model; the file may be truncated")
    return NgramModel(vocab=vocab, keys=keys, logprob=logprob, logbackoff=logbackoff[:-1],
                      smoothing=str(meta.get("smoothing", "unknown")),
                      level=str(meta.get("level", "word")), lowercase=bool(meta.get("lowercase", False)))


def _counts(text: _Text) -> list[int]:
    """The ``ngram N=COUNT`` lines after ``\\data\\``."""
    counts: list[int] = []
    text.skip_blank()
    while not text.at_end() and text.line().strip().startswith("ngram "):
        spec = text.line().strip()[len("ngram "):]
        try:
            order_text, count_text = spec.split("=")
            order, count = int(order_text), int(count_text)
        except ValueError:
            raise text.error(text.number, f"expected 'ngram N=COUNT', found '{spec[:60]}'.") from None
        if order != len(counts) + 1 or count < 0:
            raise text.error(text.number, f"expected the count of {len(counts) + 1}-grams, found "
                             f"'ngram {spec}'.")
        counts.append(count)
        text.advance()
    if not counts:
        raise text.error(text.number, "no 'ngram 1=COUNT' line after '\\data\\'.")
    return counts


def _words(ids: np.ndarray, vocab: list[str]) -> str:
    return " ".join(vocab[i] for i in ids.tolist())


_SEPARATOR = "\x00"


def _chunks(body: str, first: int) -> Iterator[tuple[str, int]]:
    """(text, first line number) of pieces of about CHUNK_CHARS characters, cut at line ends."""
    start = 0
    while start < len(body):
        end = body.find("\n", start + CHUNK_CHARS)
        end = len(body) if end < 0 else end
        piece = body[start:end]
        yield piece, first
        first += piece.count("\n") + 1
        start = end + 1


def _fields(text: _Text, piece: str, first: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log10 prob, words (lines x k, object), log10 backoff or 0) of the lines of ``piece``.

    One ``str.split`` over the whole piece, line ends turned into a separator
    token, instead of one list per line (a million small lists cost seconds of
    allocation and garbage-collector passes on a big model).
    """
    if _SEPARATOR in piece:
        raise text.error(first, "the section contains a NUL character; not an ARPA model.")
    tokens = (piece.replace("\n", f" {_SEPARATOR} ") + f" {_SEPARATOR}").split()
    # map, not ``array == "\x00"``: numpy strips trailing NULs from the string it compares with
    ends = np.flatnonzero(np.fromiter(map(_SEPARATOR.__eq__, tokens), dtype=bool, count=len(tokens)))
    flat = np.array(tokens, dtype=object)
    starts = np.concatenate(([0], ends[:-1] + 1))
    n_fields = ends - starts
    bad = np.flatnonzero((n_fields != k + 1) & (n_fields != k + 2))
    if len(bad):
        j = int(bad[0])
        raise text.error(first + j, f"expected '<log10 prob> <{k} words> [<log10 backoff>]', found "
                         f"{int(n_fields[j])} fields.")
    has_backoff = n_fields == k + 2
    prob = _floats(text, first, flat[starts], np.arange(len(starts)), k)
    backoff = np.zeros(len(starts))
    backoff[has_backoff] = _floats(text, first, flat[starts[has_backoff] + k + 1],
                                   np.flatnonzero(has_backoff), k)
    return prob, np.stack([flat[starts + 1 + j] for j in range(k)], axis=1), backoff


def _floats(text: _Text, first: int, values: np.ndarray, line_of: np.ndarray, k: int) -> np.ndarray:
    try:
        return np.fromiter(map(float, values), dtype=np.float64, count=len(values))
    except ValueError:
        for j, value in enumerate(values):
            try:
                float(value)
            except ValueError:
                raise text.error(first + int(line_of[j]), f"'{value[:40]}' is not a number (expected "
                                 f"'<log10 prob> <{k} words> [<log10 backoff>]').") from None
        raise


def _unigrams(text: _Text, body: str, first: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    probs, backoffs, words = [], [], []
    for piece, piece_first in _chunks(body, first):
        prob, piece_words, backoff = _fields(text, piece, piece_first, 1)
        probs.append(prob)
        backoffs.append(backoff)
        words.extend(piece_words[:, 0].tolist())
    return np.concatenate(probs or [np.zeros(0)]), np.concatenate(backoffs or [np.zeros(0)]), words


def _ngrams(text: _Text, body: str, first: int, k: int,
            index: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log10 prob, log10 backoff, word ids (lines x k)) of a section of order k >= 2."""
    probs, backoffs, all_ids = [], [], []
    for piece, piece_first in _chunks(body, first):
        prob, words, backoff = _fields(text, piece, piece_first, k)
        ids = np.fromiter(map(index.get, words.reshape(-1), itertools.repeat(-1)), dtype=np.int64,
                          count=words.size).reshape(words.shape)
        unknown = np.flatnonzero((ids < 0).any(axis=1))
        if len(unknown):
            j = int(unknown[0])
            raise text.error(piece_first + j, f"the {k}-gram '{' '.join(words[j])}' uses a word that is "
                             "not among the 1-grams.")
        probs.append(prob)
        backoffs.append(backoff)
        all_ids.append(ids)
    if not all_ids:
        return np.zeros(0), np.zeros(0), np.zeros((0, k), dtype=np.int64)
    return np.concatenate(probs), np.concatenate(backoffs), np.concatenate(all_ids)


def _keys(text: _Text, first: int, ids: np.ndarray, vocab: list[str], keys: list[np.ndarray]) -> np.ndarray:
    """int64 key of each k-gram (``counting``); its prefix must be among the (k-1)-grams."""
    vocab_size, k = len(vocab), ids.shape[1]
    row = ids[:, 0]
    for j in range(1, k - 1):
        row = lookup(keys[j], row * vocab_size + ids[:, j])
    missing = np.flatnonzero(row < 0)
    if len(missing):
        j = int(missing[0])
        raise text.error(first + j, f"the {k}-gram '{_words(ids[j], vocab)}' has no entry for its "
                         f"first {k - 1} words among the {k - 1}-grams; this reader needs every "
                         "prefix (KenLM's lmplz and unpruned SRILM models have them).")
    check_key_range(len(keys[k - 2]), vocab_size)
    return row * vocab_size + ids[:, k - 1]
