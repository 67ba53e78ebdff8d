"""Tokens -> words, and which words the model actually read.

Attributions are computed per token but read per word, so the pieces of a word
(WordPiece ``##`` continuations, byte-level BPE / sentencepiece pieces after a
word start) are summed. With a fast tokenizer the grouping comes from
``word_ids()`` (the pre-tokenizer's words) and the spans from its character
offsets, so every word maps back to a span of the text. Without one, the pieces'
own markers decide (``group_pieces``) and the spans are found by searching the
text left to right.

Texts longer than the model takes are shortened exactly as
``lmforge.data.tokenize.encode_texts`` does (same special-token frame, same
``truncate``); the words none of whose pieces survive are reported as dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmforge.data.tokenize import special_token_frame, truncate

CONTINUATION = "##"  # WordPiece: this piece continues the previous word
WORD_STARTS = ("\u0120", "\u2581")  # byte-level BPE's "Ġ" and sentencepiece's "▁": a new word


@dataclass
class WordPieces:
    """One text as the model reads it, grouped into words."""

    text: str
    """The text the spans index into (the classifier's cleaned text)."""
    ids: list[int]
    """The model's input ids: special-token prefix + kept pieces + suffix."""
    n_prefix: int
    n_suffix: int
    words: list[str]
    """The words the model read (at least one piece kept), in text order."""
    spans: list[tuple[int, int]]
    """(start, end) character span of each word in ``text``."""
    positions: list[list[int]]
    """For each word, the positions of its pieces in ``ids``."""
    dropped: list[str]
    """Words cut by truncation (none of their pieces reached the model)."""
    dropped_spans: list[tuple[int, int]]
    truncated: bool = False
    """Longer than the model takes (pieces were cut, perhaps only part of a word)."""


def group_pieces(tokens: Sequence[str]) -> list[int]:
    """Word number of each token, from the pieces' markers alone.

    WordPiece marks continuations (``##ing``); byte-level BPE and sentencepiece mark word
    starts (``Ġword``, ``▁word``). A tokenizer uses one convention: if any piece carries a
    word-start marker, a piece without one continues the previous word.
    """
    starts_marked = any(t.startswith(WORD_STARTS) for t in tokens)
    out: list[int] = []
    word = -1
    for i, tok in enumerate(tokens):
        if i == 0:
            new = True
        elif starts_marked:
            new = tok.startswith(WORD_STARTS)
        else:
            new = not tok.startswith(CONTINUATION)
        word += 1 if new else 0
        out.append(word)
    return out


def piece_surface(token: str) -> str:
    """The characters a piece stands for (markers removed)."""
    if token.startswith(CONTINUATION):
        return token[len(CONTINUATION):]
    return token.lstrip("".join(WORD_STARTS))


def _search_spans(text: str, tokens: Sequence[str], word_of: Sequence[int]) -> list[tuple[int, int]]:
    """Span of each token found by searching ``text`` left to right (slow tokenizers)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    lowered = text.lower()
    for tok in tokens:
        piece = piece_surface(tok)
        at = lowered.find(piece.lower(), cursor) if piece else -1
        if at < 0:  # [UNK] or a normalised piece: give it an empty span where we are
            spans.append((cursor, cursor))
            continue
        spans.append((at, at + len(piece)))
        cursor = at + len(piece)
    return spans


def token_words(tokenizer: Any, text: str) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """(ids, word number per token, character span per token) without special tokens."""
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        word_ids = enc.word_ids()
        offsets = [(int(s), int(e)) for s, e in enc["offset_mapping"]]
        # a token outside every word (None) becomes a word of its own
        word_of: list[int] = []
        seen: dict[int, int] = {}
        for i, w in enumerate(word_ids):
            key = w if w is not None else -1 - i
            word_of.append(seen.setdefault(key, len(seen)))
        return ids, word_of, offsets
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    tokens = tokenizer.convert_ids_to_tokens(ids)
    word_of = group_pieces(tokens)
    return ids, word_of, _search_spans(text, tokens, word_of)


def align(tokenizer: Any, text: str, max_length: int, strategy: str) -> WordPieces:
    """The text's words, the model's input ids, and which words truncation dropped."""
    prefix, suffix = special_token_frame(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ValueError(f"max_length {max_length} leaves no room for text tokens")
    ids, word_of, offsets = token_words(tokenizer, text)
    kept = truncate(list(range(len(ids))), budget, strategy)
    position_of = {tok: len(prefix) + i for i, tok in enumerate(kept)}
    n_words = max(word_of) + 1 if word_of else 0
    members: list[list[int]] = [[] for _ in range(n_words)]
    for tok, w in enumerate(word_of):
        members[w].append(tok)
    words, spans, positions, dropped, dropped_spans = [], [], [], [], []
    for toks in members:
        span = _trimmed(text, min(offsets[t][0] for t in toks), max(offsets[t][1] for t in toks))
        where = [position_of[t] for t in toks if t in position_of]
        if where:
            words.append(text[span[0]:span[1]])
            spans.append(span)
            positions.append(where)
        else:
            dropped.append(text[span[0]:span[1]])
            dropped_spans.append(span)
    return WordPieces(text=text, ids=prefix + [ids[t] for t in kept] + suffix,
                      n_prefix=len(prefix), n_suffix=len(suffix), words=words, spans=spans,
                      positions=positions, dropped=dropped, dropped_spans=dropped_spans,
                      truncated=len(ids) > budget)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """Without the surrounding spaces (byte-level BPE and sentencepiece offsets can include the
    space that starts a word)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def without_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with each span replaced by one space (so its neighbours do not fuse into a
    new word: "well-made" without "-" is "well made", not "wellmade")."""
    out, cursor = [], 0
    for start, end in sorted(spans):
        if start < cursor:
            continue
        out.append(text[cursor:start])
        out.append(" ")
        cursor = end
    out.append(text[cursor:])
    return " ".join("".join(out).split())
