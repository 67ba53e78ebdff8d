"""Corpus lines -> model-sized token sequences, for each pre-training objective.

- ``pack_lines`` (masked LM): one line per sequence, or (``pack=True``) whole
  lines packed greedily into sequences of up to ``max_length`` tokens,
  ``[CLS] line [SEP] line [SEP] ...`` (BERT packs consecutive sentences up to
  the length limit too: few pad tokens, and each line keeps its context).
  A line longer than one sequence is cut into pieces either way.
- ``sentence_pairs`` (next-sentence prediction): ``[CLS] A [SEP] B [SEP]`` where
  B is the line after A half the time and a random line from another document
  otherwise (Devlin et al. 2019, section 3.1).
- ``pack_blocks`` (causal LM): every line framed by the tokenizer and ended
  with the end-of-sequence token, all concatenated and cut into equal blocks:
  no padding at all (GPT-2's recipe).

Word ids (for whole-word masking) are unique across the corpus; -1 marks
special tokens.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lmforge.errors import DataError

NSP_IS_NEXT, NSP_RANDOM = 0, 1  # BertForPreTraining's convention: 0 means B follows A


@dataclass
class TokenizedLines:
    ids: list[list[int]]
    word_ids: list[list[int]] | None  # unique across the corpus; None when not asked for


@dataclass
class Sequences:
    """Model-ready sequences (special tokens included), not yet padded or masked."""

    ids: list[list[int]]
    word_ids: list[list[int]] | None = None
    token_type_ids: list[list[int]] | None = None
    nsp_labels: list[int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_tokens(self) -> int:
        return sum(self.lengths())

    def lengths(self) -> list[int]:
        """Tokens per sequence (read from the offsets alone for memory-mapped shards)."""
        if hasattr(self.ids, "lengths"):
            return self.ids.lengths()
        return [len(r) for r in self.ids]


def tokenize_lines(tokenizer: Any, lines: Sequence[str], with_words: bool = False,
                   chunk: int = 2000) -> TokenizedLines:
    """Token ids of each line, no special tokens; optional corpus-unique word ids."""
    ids: list[list[int]] = []
    words: list[list[int]] | None = [] if with_words else None
    for line_ids, line_words in iter_tokenized(tokenizer, lines, with_words, chunk):
        ids.append(line_ids)
        if words is not None:
            words.append(line_words)  # type: ignore[arg-type]
    return TokenizedLines(ids, words)


def iter_tokenized(tokenizer: Any, lines: Sequence[str], with_words: bool = False,
                   chunk: int = 2000) -> Iterator[tuple[list[int], list[int] | None]]:
    """``tokenize_lines`` one line at a time, ``chunk`` lines tokenized together."""
    next_word = 0
    for start in range(0, len(lines), chunk):
        # verbose=False: lines longer than the model are expected here (they are cut later)
        enc = tokenizer(list(lines[start : start + chunk]), add_special_tokens=False, verbose=False)
        for i, line_ids in enumerate(enc["input_ids"]):
            if not with_words:
                yield line_ids, None
                continue
            local = enc.word_ids(i)
            yield line_ids, [next_word + w if w is not None else -1 for w in local]
            next_word += max((w for w in local if w is not None), default=-1) + 1


def special_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Ids the tokenizer puts before and after one text ([CLS]/[SEP], <s>/</s>, ...)."""
    from lmforge.data.tokenize import special_token_frame

    return special_token_frame(tokenizer)


def _pieces(ids: list[int], words: list[int] | None, budget: int) -> list[tuple[list[int], list[int] | None]]:
    return [(ids[i : i + budget], words[i : i + budget] if words is not None else None)
            for i in range(0, len(ids), budget)]


def pack_lines(tokenizer: Any, lines: TokenizedLines, max_length: int,
               pack: bool = True) -> Sequences:
    """Greedy packing of whole lines into ``[CLS] a [SEP] b [SEP] ...`` sequences.

    ``pack=False``: one line per sequence, ``[CLS] line [SEP]``, as a classifier
    sees a text (a line over ``max_length`` still becomes several sequences).
    """
    with_words = lines.word_ids is not None
    pairs = zip(lines.ids, lines.word_ids if with_words else [None] * len(lines.ids),  # type: ignore[arg-type]
                strict=True)
    out = Sequences([], [] if with_words else None)
    for ids, words in iter_packed_lines(tokenizer, pairs, max_length, pack, with_words):
        out.ids.append(ids)
        if out.word_ids is not None:
            out.word_ids.append(words)  # type: ignore[arg-type]
    return out


def iter_packed_lines(tokenizer: Any, lines: Iterable[tuple[list[int], list[int] | None]],
                      max_length: int, pack: bool = True,
                      with_words: bool = False) -> Iterator[tuple[list[int], list[int] | None]]:
    """``pack_lines`` over (ids, word ids) pairs as they come: (ids, word ids) sequences."""
    prefix, suffix = special_frame(tokenizer)
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    between = [sep] if sep is not None else []
    budget = max_length - len(prefix) - len(suffix)
    if budget < 2:
        raise DataError(f"max_length {max_length} leaves no room for text after the special tokens; "
                        "raise --max-length.")
    body: list[int] = []
    body_words: list[int] = []

    def flush() -> tuple[list[int], list[int] | None]:
        seq = (prefix + body + suffix,
               [-1] * len(prefix) + body_words + [-1] * len(suffix) if with_words else None)
        body.clear()
        body_words.clear()
        return seq

    for line_ids, line_words in lines:
        for piece, piece_words in _pieces(line_ids, line_words, budget):
            joiner = between if body else []
            if not pack or len(body) + len(joiner) + len(piece) > budget:
                if body:
                    yield flush()
                joiner = []
            body.extend(joiner + piece)
            body_words.extend([-1] * len(joiner) + (piece_words or [-1] * len(piece)))
    if body:
        yield flush()


def sentence_pairs(tokenizer: Any, documents: Sequence[TokenizedLines], max_length: int,
                   seed: int) -> Sequences:
    """One pair per line that has a next line in its document; 50% get a random B."""
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls_id is None or sep_id is None:
        raise DataError("next-sentence prediction needs a tokenizer with [CLS] and [SEP] tokens.")
    rng = random.Random(seed)
    everything = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc.ids))]
    with_words = all(doc.word_ids is not None for doc in documents)
    out = Sequences([], [] if with_words else None, [], [])
    budget = max_length - 3
    for d, doc in enumerate(documents):
        for i in range(len(doc.ids) - 1):
            j_doc, j = d, i + 1
            label = NSP_IS_NEXT
            if rng.random() < 0.5:
                for _ in range(10):  # prefer a line from another document
                    candidate = rng.choice(everything)
                    if candidate[0] != d:
                        break
                if candidate[0] != d or candidate[1] not in (i, i + 1):
                    (j_doc, j), label = candidate, NSP_RANDOM
            a, b = list(doc.ids[i]), list(documents[j_doc].ids[j])
            wa = list(doc.word_ids[i]) if with_words else None  # type: ignore[index]
            wb = list(documents[j_doc].word_ids[j]) if with_words else None  # type: ignore[index]
            while len(a) + len(b) > budget:  # truncate the longer side, as BERT does
                if len(a) >= len(b):
                    a.pop()
                    if wa is not None:
                        wa.pop()
                else:
                    b.pop()
                    if wb is not None:
                        wb.pop()
            out.ids.append([cls_id] + a + [sep_id] + b + [sep_id])
            out.token_type_ids.append([0] * (len(a) + 2) + [1] * (len(b) + 1))  # type: ignore[union-attr]
            out.nsp_labels.append(label)  # type: ignore[union-attr]
            if out.word_ids is not None:
                out.word_ids.append([-1] + wa + [-1] + wb + [-1])  # type: ignore[operator]
    return out


def pack_blocks(tokenizer: Any, lines: TokenizedLines, block_size: int, *,
                allow_short: bool = False) -> list[list[int]]:
    """Concatenate ``<s> line </s>`` for every line and cut into ``block_size`` blocks.

    The tail shorter than a block is dropped (it is under one block of text).
    With ``allow_short`` (held-out text), a corpus under one block becomes one
    shorter block instead of an error.
    """
    return list(iter_blocks(tokenizer, lines.ids, block_size, allow_short=allow_short))


def iter_blocks(tokenizer: Any, lines: Iterable[list[int]], block_size: int, *,
                allow_short: bool = False) -> Iterator[list[int]]:
    """``pack_blocks`` over token lists as they come (only a block's worth is held)."""
    prefix, suffix = special_frame(tokenizer)
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    if eos is None:
        raise DataError("causal LM packing needs an end-of-sequence token (eos or sep) in the "
                        "tokenizer to mark where one line ends and the next begins.")
    end = suffix if suffix and suffix[-1] == eos else suffix + [eos]
    stream: list[int] = []
    blocks = 0
    for line_ids in lines:
        stream.extend(prefix + line_ids + end)
        if len(stream) >= block_size:
            cut = len(stream) - len(stream) % block_size
            for i in range(0, cut, block_size):
                yield stream[i : i + block_size]
                blocks += 1
            del stream[:cut]
    if blocks == 0:
        if allow_short and len(stream) >= 2:
            yield stream
            return
        raise DataError(f"the corpus is {len(stream)} tokens long, less than one sequence of "
                        f"--max-length {block_size}. Add text or lower --max-length.")
