"""Labels on first sub-words, and long sentences read as windows of whole tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lmforge.data.token_windows import IGNORE, encode_sentences, owners, stitch, word_windows


def test_windows_cover_every_token_once_owned() -> None:
    lengths = [1, 3, 2, 1, 1, 4, 1, 2, 2, 1]
    windows = word_windows(lengths, 6)
    assert windows[0][0] == 0 and windows[-1][1] == len(lengths)
    assert all(sum(lengths[a:b]) <= 6 for a, b in windows)
    assert all(windows[i + 1][0] <= windows[i][1] for i in range(len(windows) - 1))  # no gap
    own = owners(windows, len(lengths))
    assert all(windows[w][0] <= i < windows[w][1] for i, w in enumerate(own))


def test_labels_on_first_subword_and_stitching(tiny_model_dir: Path) -> None:
    from lmforge.models.build import load_tokenizer

    tokenizer: Any = load_tokenizer(tiny_model_dir)
    sentence = ["unbelievably", "long", "tokenization", "here"] * 6  # 24 tokens, ~40 sub-words
    tags = list(range(len(sentence)))
    rows = encode_sentences(tokenizer, [sentence, ["short"]], max_length=16, tag_ids=[tags, [7]])
    assert rows.n_windowed == 1 and len(rows.input_ids) > 2
    assert all(len(ids) <= 16 for ids in rows.input_ids)
    for ids, labels in zip(rows.input_ids, rows.labels, strict=True):
        assert len(ids) == len(labels)
        assert labels[0] == IGNORE and labels[-1] == IGNORE  # [CLS] ... [SEP]
    first = rows.labels[0]
    pieces = len(tokenizer("unbelievably", add_special_tokens=False)["input_ids"])
    assert pieces > 1 and first[1] == 0 and first[2:1 + pieces] == [IGNORE] * (pieces - 1)
    # each token predicted once, by the row whose label at that position is the token's own
    predicted = sorted(t for r, p in enumerate(rows.predicts) if rows.owner[r] == 0 for t, _ in p)
    assert predicted == list(range(len(sentence)))
    fake = [np.eye(len(sentence) + 8)[np.clip(lab, 0, None)] for lab in map(np.array, rows.labels)]
    stitched = stitch(fake, rows, [len(sentence), 1])
    assert stitched[0].argmax(axis=1).tolist() == tags and stitched[1].argmax(axis=1).tolist() == [7]


def test_a_bare_word_start_marker_is_dropped() -> None:
    from lmforge.data.token_windows import _without_bare_space

    assert _without_bare_space([5, 9], {5}) == [9]  # '▁', '江' -> '江'
    assert _without_bare_space([5], {5}) == [5]  # a lone marker stays (the token is not lost)
    assert _without_bare_space([7, 5], {5}) == [7, 5]
