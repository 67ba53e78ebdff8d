"""Counting n-grams with numpy: every n-gram is one int64 key.

The key of an n-gram of order k >= 2 is ``prefix_id * V + last_word``, where
``prefix_id`` is the row of its first k-1 words in the (sorted) order-(k-1)
table and V the vocabulary size. Order-1 rows are the word ids themselves.
Sorting keys therefore sorts n-grams lexicographically, any order fits in
int64 (rows <= tokens), and counting one order is a single ``np.unique`` over
the keys of every position -- no Python loop over tokens. The same keys serve
as the model's lookup tables (``NgramModel``), found by ``np.searchsorted``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmforge.errors import DataError
from lmforge.lm.corpus import PaddedIds

INT64_MAX = np.iinfo(np.int64).max


@dataclass
class NgramCounts:
    """Raw counts of every n-gram of orders 1..order in a padded corpus.

    Lists are indexed by ``order - 1``. Order 1 has one row per vocabulary id
    (``<s>`` and unseen words with count 0); ``<s>`` is counted only as a
    context, never as a predicted token.
    """

    vocab_size: int
    bos: int
    keys: list[np.ndarray]  # sorted int64 keys per order
    counts: list[np.ndarray]  # raw occurrence counts per n-gram
    suffix: list[np.ndarray]  # row in order k-1 of the n-gram without its first word (order 1: empty)
    bos_initial: list[np.ndarray]  # bool: the n-gram starts with <s>

    @property
    def order(self) -> int:
        return len(self.keys)

    def context(self, order: int) -> np.ndarray:
        """Row in the order-(order-1) table of each order-``order`` n-gram's first words."""
        return self.keys[order - 1] // self.vocab_size

    def word(self, order: int) -> np.ndarray:
        return self.keys[order - 1] % self.vocab_size


def check_key_range(rows: int, vocab_size: int) -> None:
    if rows and rows > INT64_MAX // max(vocab_size, 1):
        raise DataError(f"{rows} n-grams x {vocab_size} words overflow the 64-bit n-gram keys; "
                        "lower --order or raise --min-count.")


def count_ngrams(padded: PaddedIds, vocab_size: int, order: int, bos: int) -> NgramCounts:
    """Count n-grams of orders 1..order that lie inside one padded sentence."""
    ids, offset = padded.ids, padded.offset
    keys = [np.arange(vocab_size, dtype=np.int64)]
    counts = [np.bincount(ids[offset > 0], minlength=vocab_size).astype(np.int64)]
    suffix = [np.empty(0, dtype=np.int64)]
    bos_initial = [keys[0] == bos]
    row_at = ids  # row of the n-gram (of the previous order) ending at each position, -1 if none
    for k in range(2, order + 1):
        check_key_range(len(keys[-1]), vocab_size)
        ends = np.flatnonzero(offset >= k - 1)
        key = row_at[ends - 1] * vocab_size + ids[ends]
        # no return_index: it would force a stable (slower) sort; any occurrence will do
        uniq, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        occurrence = np.empty(len(uniq), dtype=np.int64)
        occurrence[inverse] = ends
        keys.append(uniq)
        counts.append(count.astype(np.int64))
        suffix.append(row_at[occurrence])  # the (k-1)-gram ending where this k-gram ends
        bos_initial.append(bos_initial[-1][uniq // vocab_size])
        next_row = np.full(len(ids), -1, dtype=np.int64)
        next_row[ends] = inverse
        row_at = next_row
    return NgramCounts(vocab_size=vocab_size, bos=bos, keys=keys, counts=counts, suffix=suffix,
                       bos_initial=bos_initial)


def count_ngrams_chunked(chunks: Callable[[], Iterator[PaddedIds]], vocab_size: int, order: int,
                         bos: int, workdir: Path, partitions: int = 16) -> NgramCounts:
    """``count_ngrams`` in bounded memory, for corpora larger than memory: the same arrays.

    ``chunks()`` yields the padded corpus in pieces of whole sentences, again for each
    order. Order k is counted chunk by chunk: the row of each position's (k-1)-gram is
    looked up in the finished tables of the lower orders (``np.searchsorted``), the chunk's
    k-gram keys are counted (``np.unique``) and written to disk as sorted runs, split into
    ``partitions`` key ranges; each range is then merged alone (counts of equal keys
    summed) and the ranges concatenated in order -- the external sort-and-merge of KenLM's
    ``lmplz``. Memory: one chunk, one key range, and the tables (the model's size).
    """
    keys = [np.arange(vocab_size, dtype=np.int64)]
    unigrams = np.zeros(vocab_size, dtype=np.int64)
    for padded in chunks():
        unigrams += np.bincount(padded.ids[padded.offset > 0], minlength=vocab_size)
    counts = [unigrams]
    suffix = [np.empty(0, dtype=np.int64)]
    bos_initial = [keys[0] == bos]
    for k in range(2, order + 1):
        check_key_range(len(keys[-1]), vocab_size)
        # partition by context row: key ranges that follow each other in sorted order
        bounds = np.linspace(0, len(keys[-1]), partitions + 1).astype(np.int64)[1:-1] * vocab_size
        runs: list[list[Path]] = [[] for _ in range(partitions)]
        for c, padded in enumerate(chunks()):
            ids, offset = padded.ids, padded.offset
            row_at = ids
            for j in range(2, k):  # the rows of the (j)-grams ending at each position
                ends = np.flatnonzero(offset >= j - 1)
                next_row = np.full(len(ids), -1, dtype=np.int64)
                next_row[ends] = np.searchsorted(keys[j - 1], row_at[ends - 1] * vocab_size
                                                 + ids[ends])
                row_at = next_row
            ends = np.flatnonzero(offset >= k - 1)
            key = row_at[ends - 1] * vocab_size + ids[ends]
            uniq, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
            occurrence = np.empty(len(uniq), dtype=np.int64)
            occurrence[inverse.reshape(-1)] = ends
            run = np.stack([uniq, count, row_at[occurrence]])
            cuts = np.searchsorted(uniq, bounds)
            for p, part in enumerate(np.split(run, cuts, axis=1)):
                if part.shape[1]:
                    path = workdir / f"order{k}-run{c}-part{p}.npy"
                    np.save(path, part)
                    runs[p].append(path)
        merged = []
        for paths in runs:
            # one run at a time into the range's table: memory is the table plus one run,
            # whatever the number of runs (chunks)
            part = np.empty((3, 0), dtype=np.int64)
            for path in paths:
                part = _merge_runs(part, np.load(path))
                path.unlink()
            if part.shape[1]:
                merged.append(part)
        table = np.concatenate(merged, axis=1) if merged else np.empty((3, 0), dtype=np.int64)
        keys.append(table[0])
        counts.append(table[1])
        suffix.append(table[2])
        bos_initial.append(bos_initial[-1][table[0] // vocab_size])
    return NgramCounts(vocab_size=vocab_size, bos=bos, keys=keys, counts=counts, suffix=suffix,
                       bos_initial=bos_initial)



def _merge_runs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two (keys, counts, suffix) runs -> one, keys sorted and unique, counts summed."""
    both = np.concatenate([a, b], axis=1)
    uniq, first, inverse = np.unique(both[0], return_index=True, return_inverse=True)
    # float64 sums are exact below 2**53 occurrences
    summed = np.bincount(inverse.reshape(-1), weights=both[1], minlength=len(uniq))
    return np.stack([uniq, summed.astype(np.int64), both[2][first]])
