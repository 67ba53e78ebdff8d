"""Labels on first sub-words (or all of them), and long sentences read as windows of whole
tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lmforge.data.token_windows import (
    IGNORE,
    continuation_ids,
    encode_sentences,
    owners,
    stitch,
    word_windows,
)


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
    predicted = sorted(t for r, p in enumerate(rows.predicts) if rows.owner[r] == 0 for t, _, _ in p)
    assert predicted == list(range(len(sentence)))
    fake = [np.eye(len(sentence) + 8)[np.clip(lab, 0, None)] for lab in map(np.array, rows.labels)]
    stitched = stitch(fake, rows, [len(sentence), 1])
    assert stitched[0].argmax(axis=1).tolist() == tags and stitched[1].argmax(axis=1).tolist() == [7]


def test_a_bare_word_start_marker_is_dropped() -> None:
    from lmforge.data.token_windows import _without_bare_space

    assert _without_bare_space([5, 9], {5}) == [9]  # '▁', '江' -> '江'
    assert _without_bare_space([5], {5}) == [5]  # a lone marker stays (the token is not lost)
    assert _without_bare_space([7, 5], {5}) == [7, 5]


def test_continuation_ids_map_b_to_i_tags() -> None:
    labels = ["O", "B-PER", "I-PER", "B-LOC"]  # no I-LOC in the training tags
    assert continuation_ids(labels, bio=True) == [0, 2, 2, 3]
    assert continuation_ids(labels, bio=False) is None


def test_all_pieces_labelled_plain_tags_read_from_the_mean(tiny_model_dir: Path) -> None:
    from lmforge.models.build import load_tokenizer

    tokenizer: Any = load_tokenizer(tiny_model_dir)
    sentence = ["unbelievably", "here"]
    n = len(tokenizer("unbelievably", add_special_tokens=False)["input_ids"])
    assert n > 1
    rows = encode_sentences(tokenizer, [sentence], 32, [[1, 2]], pieces="all")
    assert rows.labels[0] == [IGNORE] + [1] * n + [2, IGNORE]
    assert rows.predicts[0] == [(0, 1, n), (1, 1 + n, 1)]
    # the first piece says tag 0, the later ones say tag 1 more strongly: the mean reads 1
    logits = np.zeros((n + 3, 3), dtype=np.float32)
    logits[1, 0] = 1.0
    logits[2:1 + n, 1] = 1.0
    logits[1 + n, 2] = 1.0
    assert stitch([logits], rows, [2])[0].argmax(axis=1).tolist() == [1, 2]
    first = encode_sentences(tokenizer, [sentence], 32, [[1, 2]])  # the default: first piece
    assert stitch([logits], first, [2])[0].argmax(axis=1).tolist() == [0, 2]


def test_all_pieces_bio_later_pieces_get_the_i_tag(tiny_model_dir: Path) -> None:
    from lmforge.models.build import load_tokenizer

    tokenizer: Any = load_tokenizer(tiny_model_dir)
    n = len(tokenizer("unbelievably", add_special_tokens=False)["input_ids"])
    labels = ["O", "B-PER", "I-PER"]
    rows = encode_sentences(tokenizer, [["unbelievably", "here"]], 32, [[1, 0]], pieces="all",
                            continuation=continuation_ids(labels, bio=True))
    assert rows.labels[0] == [IGNORE, 1] + [2] * (n - 1) + [0, IGNORE]
    assert rows.predicts[0][0] == (0, 1, 1)  # a BIO tag is read from the first piece
    unseen = encode_sentences(tokenizer, [["unbelievably"]], 32, [[IGNORE]], pieces="all",
                              continuation=continuation_ids(labels, bio=True))
    assert unseen.labels[0] == [IGNORE] * (n + 2)  # a tag the training set lacks stays ignored
    with pytest.raises(ValueError, match="pieces"):
        encode_sentences(tokenizer, [["x"]], 32, pieces="some")


def test_word_segments_alternate_token_by_token_and_restart_in_each_window(
        tiny_model_dir: Path) -> None:
    from lmforge.data.tokenize import PairIds, pad_batch
    from lmforge.inference.onnx import pad_numpy
    from lmforge.models.build import load_tokenizer

    tokenizer: Any = load_tokenizer(tiny_model_dir)
    sentence = ["北京", "大学", "的", "学生"] * 5  # 20 words, 35 characters: windows at 16
    plain = encode_sentences(tokenizer, [sentence], max_length=16)
    rows = encode_sentences(tokenizer, [sentence], max_length=16, segments=True)
    assert rows.input_ids == plain.input_ids and rows.labels == plain.labels
    assert len(rows.input_ids) > 1 and all(isinstance(r, PairIds) for r in rows.input_ids)
    for row in rows.input_ids:
        types = row.token_type_ids
        assert len(types) == len(row) and types[0] == types[-1] == 0  # [CLS] ... [SEP]
        assert types[1] == 0  # each window's first token is segment 0
    first = rows.input_ids[0]
    expected = [0] + [i % 2 for i, w in enumerate(sentence) for _ in w]  # 北京 0 0, 大学 1 1...
    assert first.token_type_ids[:-1] == expected[: len(first) - 1]
    batch = pad_batch(rows.input_ids, 0)
    feed = pad_numpy(rows.input_ids, 0)
    assert batch["token_type_ids"].tolist() == feed["token_type_ids"].tolist()
    assert batch["token_type_ids"][0, 1:3].tolist() == [0, 0]  # 北 京: one word
    assert batch["token_type_ids"][0, 3:5].tolist() == [1, 1]  # 大 学: the next
