"""Tokenization, padding and the numpy n-gram counts against plain Python."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lmforge.errors import DataError
from lmforge.lm.corpus import pad, read_tokens, sentence_tokens, text_tokens
from lmforge.lm.counting import count_ngrams
from lmforge.lm.hashing import KeyIndex
from lmforge.lm.pipeline import vocabulary_ids


def test_word_and_char_tokens() -> None:
    text = "The cat  sat\n\n  \nA dog\t ran \n"
    assert text_tokens(text) == ["The", "cat", "sat", "</s>", "</s>", "</s>", "A", "dog", "ran", "</s>",
                                 "</s>"]
    assert text_tokens("Ab C", lowercase=True) == ["ab", "c", "</s>"]
    assert text_tokens("我们 喜欢\n北京", level="char") == ["我", "们", "喜", "欢", "\n", "北", "京", "\n"]


def test_padding_drops_blank_lines() -> None:
    vocab, ids = vocabulary_ids(text_tokens("a b\n\nb\n"))
    assert vocab == ["<unk>", "<s>", "</s>", "a", "b"]
    padded = pad(ids, bos=1, eos=2, unk=0)
    assert padded.ids.tolist() == [1, 3, 4, 2, 1, 4, 2]
    assert padded.offset.tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert padded.lengths.tolist() == [2, 1] and padded.n_sentences == 2


def test_reserved_tokens_are_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("fine line\nthis has </s> inside\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"corpus.txt, line 2: the token <s> or </s> appears in the text"):
        read_tokens(path)
    assert text_tokens("a</s>b") == ["a</s>b", "</s>"]  # only whole tokens are reserved
    with pytest.raises(DataError, match=r"sentence 2: the token <s> or </s>"):
        sentence_tokens([["a"], ["<s>", "b"]])


def test_bad_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"ok\nstill ok\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"corpus.txt, line 3: not valid UTF-8"):
        read_tokens(path)


def naive_counts(sentences: list[list[str]], order: int) -> Counter:
    counts: Counter = Counter()
    for sentence in sentences:
        padded = ["<s>", *sentence, "</s>"]
        for k in range(1, order + 1):
            for end in range(max(1, k - 1), len(padded)):  # every n-gram not ending at <s>
                counts[tuple(padded[end - k + 1 : end + 1])] += 1
    return counts


def test_counts_equal_plain_python(train_sentences) -> None:
    sentences = train_sentences[:150]
    vocab, ids = vocabulary_ids(sentence_tokens(sentences))
    counts = count_ngrams(pad(ids, bos=1, eos=2, unk=0), len(vocab), 4, bos=1)
    tables = [[(w,) for w in vocab]]  # the n-grams of each order, row by row
    for k in range(2, 5):
        tables.append([tables[-1][c] + (vocab[w],)
                       for c, w in zip(counts.context(k).tolist(), counts.word(k).tolist(), strict=True)])
        # the suffix row points at the same n-gram without its first word
        assert all(tables[-2][s] == t[1:] for s, t in zip(counts.suffix[k - 1].tolist(), tables[-1],
                                                           strict=True))
    ours = Counter({t: int(c) for table, count in zip(tables, counts.counts, strict=True)
                    for t, c in zip(table, count, strict=True) if c})
    assert ours == naive_counts(sentences, 4)


def test_key_index_finds_every_key_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 10**12, 5000))
    index = KeyIndex(keys)
    queries = np.concatenate([keys, rng.integers(0, 10**12, 5000), [-5]])
    expected = np.searchsorted(keys, queries)
    expected = np.where(keys[np.minimum(expected, len(keys) - 1)] == queries, expected, -1)
    assert np.array_equal(index.rows(queries), expected)
    assert KeyIndex(np.zeros(0, dtype=np.int64)).rows(np.array([1, 2])).tolist() == [-1, -1]
