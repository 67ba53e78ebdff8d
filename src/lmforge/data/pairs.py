"""Inputs made of several texts: columns joined into one input, and sentence pairs.

Both travel through the data stages (clean, dedup, split, subsets, leakage, the
report) as *one string* with a mark between the parts, so every stage that handles
texts handles them unchanged; only the edges look inside:

- tokenization (``data.tokenize``): a joined input's marks become the tokenizer's
  separator token; a pair is encoded as a tokenizer pair (segment ids,
  ``longest_first`` truncation);
- the TF-IDF baseline (``models.tfidf``): a pair becomes the features of both sides
  plus their overlap;
- the file readers here and the service's ``{"pairs": ...}`` build the strings;
  predict's output shows them with ``display_text``.

The marks are Unicode private-use characters: cleaning (NFKC, whitespace, controls)
leaves them alone and no tokenizer or user text is expected to hold them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lmforge.errors import DataError

PAIR_MARK = "\ue000"  # between the two texts of a sentence pair
JOIN_MARK = "\ue001"  # between the columns of a joined input (--text-col title,text)
JOIN_SHOWN = " | "  # how predict's output shows a joined input's separator
PAIR_FIELD = "text_pair"  # predict's output column holding a pair's second text

# Column names that make a sentence pair when both are present (compared like TEXT_NAMES:
# lower case, spaces and hyphens as underscores); earlier wins.
PAIR_NAMES = (("sentence1", "sentence2"), ("sentence_1", "sentence_2"),
              ("premise", "hypothesis"), ("question1", "question2"),
              ("question", "answer"), ("text_a", "text_b"), ("text1", "text2"),
              ("query", "passage"))
# A short and a long text column worth reading together (detection suggests --text-col a,b).
SHORT_NAMES = ("title", "headline", "subject", "heading")
LONG_NAMES = ("text", "body", "content", "article", "description", "message")


def join_pair(first: str, second: str) -> str:
    """One string holding a sentence pair (``split_pair`` takes it apart)."""
    return f"{first.strip()}{PAIR_MARK}{second.strip()}"


def is_pair(text: str) -> bool:
    return PAIR_MARK in text


def split_pair(text: str, where: str = "") -> tuple[str, str]:
    """The two sides of ``join_pair``'s string; a DataError for a single text."""
    if PAIR_MARK not in text:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise DataError(f"{where or 'input'}: {shown!r} is one text, but this model reads "
                        "sentence pairs. Pass two texts: [first, second] (the service: "
                        '{"pairs": [["first", "second"]]}, a file: the two pair columns).')
    first, _, second = text.partition(PAIR_MARK)
    return first.strip(), second.strip()


def split_pairs(texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """Both sides of many pairs; the error names the first text that is not a pair."""
    firsts, seconds = [], []
    for i, text in enumerate(texts):
        first, second = split_pair(text, f"text #{i}")
        firsts.append(first)
        seconds.append(second)
    return firsts, seconds


def join_columns(parts: Sequence[str]) -> str:
    """One input from several columns' (cleaned) cells; empty cells keep their place, so
    the model always sees the same number of separators. Empty when every cell is."""
    if not any(parts):
        return ""
    return JOIN_MARK.join(p.strip() for p in parts)


def with_separator(text: str, separator: str) -> str:
    """A joined input (or a pair, for counting its tokens) as a tokenizer reads it: each mark
    becomes `` separator ``."""
    for mark in (JOIN_MARK, PAIR_MARK):
        if mark in text:
            text = text.replace(mark, f" {separator} ")
    return text


def display_text(text: str) -> str:
    """How predict's output and the report show an input (a pair's first text only: its
    second goes to ``PAIR_FIELD``)."""
    if PAIR_MARK in text:
        return text.partition(PAIR_MARK)[0].strip()
    return text.replace(JOIN_MARK, JOIN_SHOWN) if JOIN_MARK in text else text


def as_input(item: Any, where: str) -> str:
    """A library caller's input: a string, or a ``(first, second)`` pair of strings."""
    if isinstance(item, str):
        return item
    if isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(s, str) for s in item):
        if not item[0].strip() or not item[1].strip():
            side = "first" if not item[0].strip() else "second"
            raise DataError(f"{where}: the {side} text of the pair is empty; a pair needs two "
                            "texts. Fill it in or leave the pair out.")
        return join_pair(item[0], item[1])
    raise DataError(f"{where} is {type(item).__name__}, not a string or a (first, second) pair "
                    "of strings")


def column_names(spec: str | Sequence[str] | None, columns: Sequence[str]) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> names; a whole string that is a column stays one name."""
    if not spec:
        return []
    if isinstance(spec, str):
        if spec in columns:
            return [spec]
        spec = spec.split(",")
    return [n.strip() for n in spec if n and n.strip()]
