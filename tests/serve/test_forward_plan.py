"""How one batch is cut into forward passes (``data.tokenize.sorted_batches``, used by every
backend offline and in the service): sorted by token length, cut where the padding saved is
worth one more pass, results back in the callers' order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lmforge.data.tokenize import sorted_batches as plan_forward_chunks
from lmforge.serve.predictor import predict_texts


def padded_tokens(lengths: list[int], chunks: list[list[int]]) -> int:
    return sum(len(c) * max(lengths[i] for i in c) for c in chunks)


def test_every_index_once_longest_first_within_the_chunk_limit() -> None:
    lengths = [5, 40, 12, 12, 33, 7, 60, 9, 21, 14, 3, 28]
    chunks = plan_forward_chunks(lengths, max_chunk=4)
    flat = [i for c in chunks for i in c]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    assert all(1 <= len(c) <= 4 for c in chunks)


def test_equal_lengths_fill_whole_passes() -> None:
    chunks = plan_forward_chunks([20] * 32, max_chunk=16)
    assert [len(c) for c in chunks] == [16, 16]
    assert [len(c) for c in plan_forward_chunks([20] * 32, max_chunk=32)] == [32]


def test_a_long_outlier_gets_its_own_pass() -> None:
    lengths = [120] + [10] * 15
    chunks = plan_forward_chunks(lengths, max_chunk=16, overhead_tokens=48)
    assert chunks[0] == [0]
    assert padded_tokens(lengths, chunks) == 120 + 15 * 10  # vs 16 * 120 in one pass


def test_cheaper_than_fixed_chunks_on_mixed_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = [int(n) for n in rng.integers(6, 70, size=32)]
    chunks = plan_forward_chunks(lengths, max_chunk=32, overhead_tokens=48)
    order = sorted(range(32), key=lambda i: lengths[i], reverse=True)
    fixed = [order[:16], order[16:]]
    assert (padded_tokens(lengths, chunks) + 48 * len(chunks)
            < padded_tokens(lengths, fixed) + 48 * 2)


def test_chunked_logits_match_one_call_in_the_callers_order(tiny_run: Path, tiny_clf: Any) -> None:
    texts = [("word " * n).strip() + f" {n}" for n in (3, 40, 7, 25, 1, 60, 12, 2, 33)]
    one_pass = tiny_clf.logits(texts)
    before, tiny_clf.batch_size = tiny_clf.batch_size, 4  # several passes
    try:
        np.testing.assert_allclose(tiny_clf.logits(texts), one_pass, atol=1e-5)
        got = predict_texts(tiny_clf, texts)
    finally:
        tiny_clf.batch_size = before
    expected = tiny_clf.predict_proba(texts)
    np.testing.assert_allclose([p["scores"]["neg"] for p in got], expected[:, 0], atol=1e-5)
    assert [p["label"] for p in got] == tiny_clf.predict(texts)
