"""Sentences of tokens -> model rows, with labels on each token's sub-words.

Each token (word, or character for Chinese) is split into sub-words once. With
``pieces="first"`` the label goes on its first sub-word and the others get -100 (ignored by
the loss), as in Hugging Face's ``run_ner``; the token's tag is read from that sub-word.
With ``pieces="all"`` (``run_ner``'s ``label_all_tokens``) every sub-word is labelled: a
BIO tag's later sub-words get the type's I- tag (``continuation_ids``) and the tag is still
read from the first; a plain tag (part of speech) goes on every sub-word and is read from
the mean of their logits, so a Chinese word's last characters (its suffix) have their say.
A sentence longer than ``max_length`` sub-words is never cut: it is
read as windows of whole tokens, neighbours sharing a quarter of their tokens, each
framed by the model's special tokens. Every token is predicted by the window where it has
the most context on both sides (``stitch``), so the sentence's tags come back whole.
With ``segments=True`` (``--word-segments``) each row also carries segment ids that
alternate from one token to the next (0 for the window's first token and the special
tokens, then 1, 0, ...): the word boundaries of pre-split words whose sub-words carry none
(a Chinese word is read as its bare characters), fed through the model's segment
(token-type) embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IGNORE = -100  # the loss's ignore_index: sub-words after the first, special tokens


@dataclass
class TokenRows:
    input_ids: list[list[int]]
    labels: list[list[int]]  # IGNORE at special tokens (and later sub-words with pieces="first")
    owner: list[int]  # the sentence of each row
    # per row: (token index, row position of its first sub-word, sub-words read) it predicts
    predicts: list[list[tuple[int, int, int]]]
    n_sentences: int
    n_windowed: int = 0  # sentences read as several windows
    n_tokens_cut: int = 0  # tokens with more sub-words than a window holds (tail sub-words dropped)
    longest: int = 0  # longest sentence in sub-words, special tokens included
    n_tokens: int = 0
    n_unknown: int = 0  # tokens with an unknown sub-word (``is_unknown``)

    def summary(self) -> dict[str, int]:
        return {"sentences": self.n_sentences, "rows": len(self.input_ids),
                "windowed": self.n_windowed, "tokens_cut": self.n_tokens_cut,
                "longest_subwords": self.longest, "tokens": self.n_tokens,
                "unknown_tokens": self.n_unknown}


def special_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids the model puts before and after a text (e.g. [CLS] / [SEP])."""
    plain = tokenizer("x", add_special_tokens=False)["input_ids"]
    framed = tokenizer("x", add_special_tokens=True)["input_ids"]
    for i in range(len(framed) - len(plain) + 1):
        if framed[i:i + len(plain)] == plain:
            return framed[:i], framed[i + len(plain):]
    return [], []


def token_pieces(tokenizer: Any, sentences: Sequence[Sequence[str]]) -> list[list[list[int]]]:
    """The sub-word ids of each token of each sentence (one batched tokenizer call); a token
    the tokenizer drops entirely (e.g. a lone control character) reads as the unknown token."""
    flat = [token for sentence in sentences for token in sentence]
    ids = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0
    bare = bare_space_ids(tokenizer)
    out, pos = [], 0
    for sentence in sentences:
        out.append([_without_bare_space(list(piece), bare) or [unk]
                    for piece in ids[pos:pos + len(sentence)]])
        pos += len(sentence)
    return out


def is_unknown(piece: Sequence[int], unk_id: int | None) -> bool:
    """Whether a token's sub-words include the unknown token: the model reads it as [UNK]
    (or partly so). The one definition for ``train``'s warning and ``lmforge inspect``."""
    return unk_id is not None and unk_id in piece


def bare_space_ids(tokenizer: Any) -> set[int]:
    """Ids of a SentencePiece/BPE word-start marker standing alone ('▁', 'Ġ'). A token
    tokenized alone gets one in front when the vocabulary has no '▁X' piece (every Chinese
    character with multilingual-e5's tokenizer): the label would sit on the marker, the same
    for every token, and the row would double in length. Such a marker is dropped."""
    unk = tokenizer.unk_token_id
    found = set()
    for marker in ("▁", "Ġ"):
        token_id = tokenizer.convert_tokens_to_ids(marker)
        if isinstance(token_id, int) and token_id != unk:
            found.add(token_id)
    return found


def _without_bare_space(piece: list[int], bare: set[int]) -> list[int]:
    return piece[1:] if len(piece) > 1 and piece[0] in bare else piece


def word_windows(lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """[start, end) token ranges of at most ``budget`` sub-words each, covering every token;
    the next window starts a quarter of this one's tokens before its end."""
    windows: list[tuple[int, int]] = []
    start, n = 0, len(lengths)
    while True:
        end, used = start, 0
        while end < n and used + lengths[end] <= budget:
            used += lengths[end]
            end += 1
        end = max(end, start + 1)
        windows.append((start, end))
        if end >= n:
            return windows
        start = max(start + 1, end - (end - start) // 4)


def owners(windows: Sequence[tuple[int, int]], n_tokens: int) -> list[int]:
    """For each token, the window where it has the most context on its shorter side."""
    best = [-1] * n_tokens
    best_room = [-1] * n_tokens
    for w, (start, end) in enumerate(windows):
        for i in range(start, end):
            room = min(i - start, end - 1 - i)
            if room > best_room[i]:
                best[i], best_room[i] = w, room
    return best


PIECES = ("first", "all")  # which sub-words of a token carry its label (tokens.json "pieces")


def continuation_ids(labels: Sequence[str], bio: bool) -> list[int] | None:
    """For BIO tags, the label id of a token's later sub-words for each tag id: B-X -> I-X
    (X's own tag when there is no I-X), others unchanged; None for plain tags."""
    if not bio:
        return None
    index = {tag: i for i, tag in enumerate(labels)}
    return [index.get("I-" + tag[2:], i) if tag.startswith("B-") else i
            for i, tag in enumerate(labels)]


def encode_sentences(tokenizer: Any, sentences: Sequence[Sequence[str]], max_length: int,
                     tag_ids: Sequence[Sequence[int]] | None = None, pieces: str = "first",
                     continuation: Sequence[int] | None = None,
                     segments: bool = False) -> TokenRows:
    """Rows the model reads for ``sentences`` (lists of tokens); ``tag_ids`` (one per token)
    become the rows' labels, on the first sub-word or, with ``pieces="all"``, on every one
    (later ones mapped through ``continuation`` for BIO tags, which are then read from the
    first sub-word; plain tags are read from the mean over the token's sub-words). With
    ``segments`` the rows are ``PairIds`` whose segment ids alternate token by token."""
    from lmforge.data.tokenize import PairIds

    if pieces not in PIECES:
        raise ValueError(f"pieces must be one of {PIECES}, got {pieces!r}")
    every = pieces == "all"
    before, after = special_frame(tokenizer)
    budget = max(1, max_length - len(before) - len(after))
    rows = TokenRows(input_ids=[], labels=[], owner=[], predicts=[], n_sentences=len(sentences))
    unk = tokenizer.unk_token_id
    for s, pieces in enumerate(token_pieces(tokenizer, sentences)):
        cut = [p[:budget] for p in pieces]
        rows.n_tokens_cut += sum(len(p) > budget for p in pieces)
        rows.n_tokens += len(pieces)
        rows.n_unknown += sum(is_unknown(p, unk) for p in pieces)
        rows.longest = max(rows.longest, sum(map(len, pieces)) + len(before) + len(after))
        windows = word_windows([len(p) for p in cut], budget)
        rows.n_windowed += len(windows) > 1
        owner_of = owners(windows, len(cut))
        for w, (start, end) in enumerate(windows):
            ids, labels, predicts = list(before), [IGNORE] * len(before), []
            types = [0] * len(before)
            for i in range(start, end):
                width = len(cut[i]) if every and continuation is None else 1
                if owner_of[i] == w:
                    predicts.append((i, len(ids), width))
                tag = tag_ids[s][i] if tag_ids is not None else IGNORE
                later = IGNORE if not every else (
                    continuation[tag] if continuation is not None and tag != IGNORE else tag)
                labels += [tag] + [later] * (len(cut[i]) - 1)
                ids += cut[i]
                if segments:
                    types += [(i - start) % 2] * len(cut[i])
            ids += after
            labels += [IGNORE] * len(after)
            if segments:
                ids = PairIds(ids)
                ids.token_type_ids = types + [0] * len(after)
            rows.input_ids.append(ids)
            rows.labels.append(labels)
            rows.owner.append(s)
            rows.predicts.append(predicts)
    return rows


def stitch(row_logits: Sequence[Any], rows: TokenRows, lengths: Sequence[int]) -> list[Any]:
    """Each sentence's (tokens, labels) logits from its rows' (positions, labels) logits: each
    token takes the row of the window that predicts it (``owners``), the logits of its first
    sub-word or the mean over the sub-words it is read from."""
    import numpy as np

    n_labels = row_logits[0].shape[-1] if len(row_logits) else 0
    out = [np.zeros((n, n_labels), dtype=np.float32) for n in lengths]
    for r, logits in enumerate(row_logits):
        sentence = out[rows.owner[r]]
        for token, position, width in rows.predicts[r]:
            sentence[token] = (logits[position] if width == 1
                               else logits[position:position + width].mean(axis=0))
    return out
