from __future__ import annotations

from pathlib import Path

from lmforge.data.tokenize import (
    encode_texts,
    length_grouped_batches,
    pad_batch,
    special_token_frame,
    truncate,
)


def test_truncate_head_tail_keeps_both_ends() -> None:
    ids = list(range(100))
    kept = truncate(ids, 20, "head+tail")
    assert kept[:5] == [0, 1, 2, 3, 4] and kept[5:] == list(range(85, 100))
    assert truncate(ids, 20, "head") == list(range(20))
    assert truncate(ids, 20, "tail") == list(range(80, 100))
    assert truncate(ids[:10], 20, "head+tail") == ids[:10]


def test_encode_counts_long_texts_and_keeps_special_tokens(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    prefix, suffix = special_token_frame(tok)
    assert prefix == [tok.cls_token_id] and suffix == [tok.sep_token_id]
    long_text = " ".join(["start"] + ["middle"] * 50 + ["finish"])
    enc = encode_texts(tok, ["short one", long_text], max_length=16)
    assert enc.n_truncated == 1 and enc.longest == 54
    row = enc.input_ids[1]
    assert len(row) == 16 and row[0] == tok.cls_token_id and row[-1] == tok.sep_token_id
    words = tok.convert_ids_to_tokens(row)
    assert "start" in words and "finish" in words  # head + tail, not a blind cut


def test_length_grouped_batches_cover_everything_once() -> None:
    lengths = [i % 37 for i in range(1000)]
    batches = list(length_grouped_batches(lengths, 32, seed=1))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert batches != list(length_grouped_batches(lengths, 32, seed=2))
    # grouping keeps similar lengths together: less padding than random batches
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert spread < 0.5 * len(batches) * 36


def test_pad_batch_is_dynamic() -> None:
    batch = pad_batch([[1, 2, 3], [4]], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
