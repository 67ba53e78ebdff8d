"""BLEU/ROUGE on hand-checked strings; perplexity against exp(mean NLL) computed by hand."""

from __future__ import annotations

import math

import pytest

from lmforge.errors import DataError
from lmforge.eval.generation import bleu, perplexity, read_lines, rouge

PRED = "the cat sat on the mat"
REF = "the cat sat on a mat"


def test_bleu_by_hand():
    # n-gram precisions 5/6, 3/5, 2/4, 1/3; same length, so no brevity penalty
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert bleu([PRED], [REF]) == pytest.approx(expected, abs=1e-6)
    assert bleu([REF, PRED], [REF, PRED]) == pytest.approx(100.0)


def test_rouge_by_hand():
    scores = rouge([PRED], [REF])
    assert scores["rouge1"] == pytest.approx(5 / 6)  # 5 shared words of 6 on each side
    assert scores["rouge2"] == pytest.approx(3 / 5)  # the cat, cat sat, sat on
    assert scores["rougeL"] == pytest.approx(5 / 6)  # LCS: the cat sat on mat
    two = rouge([PRED, REF], [REF, REF])
    assert two["rouge2"] == pytest.approx((3 / 5 + 1) / 2)


def test_mismatched_line_counts_are_an_error(tmp_path):
    with pytest.raises(DataError, match="2 predictions but 1 references"):
        bleu(["a", "b"], ["a"])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="references file '.*empty.txt' is empty"):
        read_lines(empty, "references")


def _hand_nll(model, ids):
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    logp = torch.log_softmax(logits.float(), dim=-1)
    return [-float(logp[t - 1, ids[t]]) for t in range(1, len(ids))]


TEXT = "the cat sat on the mat and looked at the dog. a bird sings in the old tree near the river."


def test_perplexity_is_exp_of_mean_nll(tiny_lm):
    ids = tiny_lm.tokenizer(TEXT)["input_ids"]
    nll = _hand_nll(tiny_lm.model, ids)
    result = perplexity(tiny_lm.model, tiny_lm.tokenizer, TEXT, max_length=256, stride=256,
                        context_window=tiny_lm.context_window)
    assert result["scored_tokens"] == len(ids) - 1
    assert result["perplexity"] == pytest.approx(math.exp(sum(nll) / len(nll)), rel=1e-5)


def test_sliding_window_scores_each_token_once_with_carried_context(tiny_lm):
    ids = tiny_lm.tokenizer(TEXT)["input_ids"]
    assert len(ids) > 24
    # windows of 8 moving 4: window k covers [4k, 4k+8) and scores the 4 tokens not scored before
    expected = []
    for begin in range(0, len(ids), 4):
        window = ids[begin:begin + 8]
        nll = _hand_nll(tiny_lm.model, window)  # nll[j] is for window position j + 1
        first = 1 if begin == 0 else 4
        expected += nll[first - 1:]
        if begin + 8 >= len(ids):
            break
    result = perplexity(tiny_lm.model, tiny_lm.tokenizer, TEXT, max_length=8, stride=4,
                        context_window=tiny_lm.context_window)
    assert result["scored_tokens"] == len(ids) - 1 == len(expected)
    assert result["perplexity"] == pytest.approx(math.exp(sum(expected) / len(expected)), rel=1e-5)
    # less context per token than one window over everything: a different number
    full = perplexity(tiny_lm.model, tiny_lm.tokenizer, TEXT, max_length=256, stride=256)
    assert full["perplexity"] != pytest.approx(result["perplexity"], rel=1e-6)


def test_perplexity_needs_two_tokens(tiny_lm):
    with pytest.raises(DataError, match="perplexity needs at least 2"):
        perplexity(tiny_lm.model, tiny_lm.tokenizer, "a", max_length=16, stride=8)
