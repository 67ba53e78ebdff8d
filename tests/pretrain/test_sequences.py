"""Components: corpus reading and held-out split, packing, sentence pairs, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.errors import DataError
from lmforge.pretrain.corpus import read_corpus, split_heldout
from lmforge.pretrain.sequences import (
    NSP_IS_NEXT,
    NSP_RANDOM,
    pack_blocks,
    pack_lines,
    sentence_pairs,
    tokenize_lines,
)
from lmforge.pretrain.tokenizer import train_tokenizer
from tests.pretrain.conftest import SUBJECTS, english_lines, write_lines


@pytest.fixture(scope="module")
def wordpiece():
    return train_tokenizer(english_lines(200), "wordpiece", 120)


@pytest.fixture(scope="module")
def bpe_clm():
    return train_tokenizer(english_lines(200), "bpe", 300, objective="clm")


def test_read_corpus_documents_and_table_files(tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_bytes("\ufeffone\ntwo\n\n\nthree\n  \n".encode())
    table = tmp_path / "b.csv"
    table.write_text("text,label\n\"a review, with a comma\",pos\nanother one here,neg\n",
                     encoding="utf-8")
    corpus = read_corpus([text, table])
    assert corpus.documents == [["one", "two"], ["three"],
                                ["a review, with a comma", "another one here"]]
    assert corpus.lines_per_file == {str(text): 3, str(table): 2}


def test_non_utf8_corpus_names_line_and_fix(tmp_path: Path) -> None:
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("第一行\n".encode() + "第二行".encode("gbk") + b"\n")
    with pytest.raises(DataError) as err:
        read_corpus([bad])
    assert str(err.value) == (
        f"{bad}: line 2, byte 1 is not valid UTF-8 (byte 0xb5). Convert the file to UTF-8 first, "
        f"e.g. `iconv -f GB18030 -t UTF-8 {bad} > gbk.utf8.txt` for Chinese text saved as GBK.")


def test_missing_files_are_all_reported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"corpus files not found: .*a\.txt, .*b\.txt\. Check the "):
        read_corpus([tmp_path / "a.txt", tmp_path / "b.txt"])


def test_heldout_split_is_disjoint_and_keeps_runs_consecutive(tmp_path: Path) -> None:
    lines = [f"line {i}" for i in range(1000)]
    corpus = read_corpus([write_lines(tmp_path / "c.txt", lines)])
    train, held = split_heldout(corpus, 0.02, seed=0)
    assert held.n_lines == 20 and train.n_lines == 980
    assert sorted(train.lines + held.lines) == sorted(lines)
    for doc in held.documents:  # each held-out document is a run of consecutive lines
        numbers = [int(x.split()[1]) for x in doc]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert split_heldout(corpus, 0.02, seed=0)[1].lines == held.lines  # seeded
    one = read_corpus([write_lines(tmp_path / "one.txt", ["only line"])])
    assert split_heldout(one, 0.02, 0)[1].n_lines == 0


def test_pack_lines_fills_sequences_without_cutting_short_lines(wordpiece) -> None:
    lines = english_lines(50)
    tokenized = tokenize_lines(wordpiece, lines, with_words=True)
    seqs = pack_lines(wordpiece, tokenized, max_length=32)
    cls, sep = wordpiece.cls_token_id, wordpiece.sep_token_id
    assert all(len(s) <= 32 for s in seqs.ids)
    assert all(s[0] == cls and s[-1] == sep for s in seqs.ids)
    # every line's tokens are there, in order, separated by [SEP]
    body = [t for s in seqs.ids for t in s[1:-1] + [sep]]
    expected = [t for ids in tokenized.ids for t in ids + [sep]]
    assert body == expected
    assert len(seqs) < len(lines)  # lines were packed together
    assert all(len(w) == len(s) for w, s in zip(seqs.word_ids, seqs.ids, strict=True))


def test_without_packing_each_line_is_its_own_sequence(wordpiece) -> None:
    lines = english_lines(20)
    tokenized = tokenize_lines(wordpiece, lines)
    seqs = pack_lines(wordpiece, tokenized, max_length=32, pack=False)
    assert seqs.ids == [[wordpiece.cls_token_id, *ids, wordpiece.sep_token_id]
                        for ids in tokenized.ids]


def test_pack_lines_splits_a_line_longer_than_a_sequence(wordpiece) -> None:
    tokenized = tokenize_lines(wordpiece, [" ".join(["the cat sees the hill"] * 20)])
    seqs = pack_lines(wordpiece, tokenized, max_length=16)
    assert len(seqs) == -(-len(tokenized.ids[0]) // 14) and all(len(s) <= 16 for s in seqs.ids)


def test_sentence_pairs_half_next_half_random(wordpiece) -> None:
    docs_lines = [[f"{w} " + " ".join(SUBJECTS[j % 6] for j in range(i + 1)) for i in range(20)]
                  for w in ("cat", "dog", "bird", "hill", "tree")]
    docs = [tokenize_lines(wordpiece, doc) for doc in docs_lines]
    seqs = sentence_pairs(wordpiece, docs, max_length=128, seed=0)
    assert len(seqs) == 5 * 19
    share_random = seqs.nsp_labels.count(NSP_RANDOM) / len(seqs)
    assert 0.35 < share_random < 0.65
    cls, sep = wordpiece.cls_token_id, wordpiece.sep_token_id
    for ids, types in zip(seqs.ids, seqs.token_type_ids, strict=True):
        assert ids[0] == cls and ids[-1] == sep and ids.count(sep) == 2
        first_sep = ids.index(sep)
        assert types == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)
    # an IsNext pair is (line i, line i+1) of one document; a random B is not
    consecutive = {(tuple(d.ids[i]), tuple(d.ids[i + 1])) for d in docs for i in range(19)}
    for ids, label in zip(seqs.ids, seqs.nsp_labels, strict=True):
        first_sep = ids.index(sep)
        pair = (tuple(ids[1:first_sep]), tuple(ids[first_sep + 1 : -1]))
        assert (pair in consecutive) == (label == NSP_IS_NEXT)


def test_pack_blocks_has_no_padding(bpe_clm) -> None:
    lines = english_lines(40)
    blocks = pack_blocks(bpe_clm, tokenize_lines(bpe_clm, lines), block_size=24)
    assert blocks and all(len(b) == 24 for b in blocks)
    assert all(bpe_clm.pad_token_id not in b for b in blocks)
    stream = [t for b in blocks for t in b]
    assert stream[0] == bpe_clm.bos_token_id
    assert stream.count(bpe_clm.eos_token_id) >= len(stream) // 24 - 1  # lines end with </s>


def test_corpus_shorter_than_one_sequence_is_an_error(bpe_clm) -> None:
    with pytest.raises(DataError) as err:
        pack_blocks(bpe_clm, tokenize_lines(bpe_clm, ["the cat"]), block_size=64)
    assert str(err.value) == ("the corpus is 4 tokens long, less than one sequence of --max-length "
                              "64. Add text or lower --max-length.")
    assert pack_blocks(bpe_clm, tokenize_lines(bpe_clm, ["the cat"]), 64, allow_short=True) == [
        [bpe_clm.bos_token_id, *bpe_clm("the cat", add_special_tokens=False)["input_ids"],
         bpe_clm.eos_token_id]]


def test_masking_is_15_percent_with_80_10_10() -> None:
    import torch

    from lmforge.pretrain.masking import IGNORE, mask_tokens

    ids = torch.randint(10, 1000, (400, 128))
    candidates = torch.ones_like(ids, dtype=torch.bool)
    candidates[:, 0] = False  # a special token: never chosen
    gen = torch.Generator().manual_seed(0)
    masked, labels = mask_tokens(ids, candidates, mask_id=4, random_ids=torch.arange(10, 1000),
                                 probability=0.15, generator=gen)
    chosen = labels != IGNORE
    assert not chosen[:, 0].any()
    assert chosen.float().mean().item() == pytest.approx(0.15 * 127 / 128, abs=0.005)
    assert torch.equal(labels[chosen], ids[chosen])
    as_mask = (masked == 4) & chosen
    unchanged = (masked == ids) & chosen
    changed = chosen & ~as_mask & ~unchanged
    n = chosen.sum().item()
    assert as_mask.sum().item() / n == pytest.approx(0.8, abs=0.02)
    assert unchanged.sum().item() / n == pytest.approx(0.1, abs=0.02)  # (a few random draws hit
    assert changed.sum().item() / n == pytest.approx(0.1, abs=0.02)  # the same id by chance)
    assert torch.equal(masked[~chosen], ids[~chosen])


def test_whole_word_masking_takes_every_piece_of_a_word() -> None:
    import torch

    from lmforge.pretrain.masking import IGNORE, mask_tokens

    # 40 words of 3 pieces each, words numbered per row
    words = torch.arange(120).div(3, rounding_mode="floor").repeat(50, 1)
    ids = torch.randint(10, 1000, (50, 120))
    gen = torch.Generator().manual_seed(0)
    _, labels = mask_tokens(ids, torch.ones_like(ids, dtype=torch.bool), 4, torch.arange(10, 1000),
                            0.15, gen, word_ids=words)
    chosen = (labels != IGNORE).view(50, 40, 3)
    assert torch.equal(chosen.all(-1), chosen.any(-1))  # a word is all in or all out
    assert chosen.sum().item() == 50 * 18  # 15% of 120 = 18 tokens = 6 words per row
