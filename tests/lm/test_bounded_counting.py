"""``ngram train`` counts in bounded memory (chunks, runs merged on disk) and writes the same
ARPA file, byte for byte, as counting the whole corpus in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.errors import DataError
from lmforge.lm.config import NgramTrainConfig
from lmforge.lm.corpus import read_tokens
from lmforge.lm.pipeline import fit_tokens, train_ngram
from tests.lm.conftest import write_lines


@pytest.mark.parametrize("settings", [
    {"order": 3, "smoothing": "modified-kneser-ney"},
    {"order": 4, "smoothing": "kneser-ney", "min_count": 2},
    {"order": 3, "smoothing": "katz-backoff", "lowercase": True},
    {"order": 2, "smoothing": "add-k", "level": "char"},
])
def test_chunked_counts_write_the_same_arpa(tmp_path: Path, train_sentences: list[list[str]],
                                            settings: dict) -> None:
    corpus = write_lines(tmp_path / "corpus.txt", train_sentences)
    # a blank line, CRLF and a sentence longer than a chunk: the chunk edges must not show
    corpus.write_bytes(corpus.read_bytes().replace(b"\n", b"\r\n", 5) + b"\n"
                       + b" ".join([b"the", b"cat"] * 100) + b"\n")
    config = NgramTrainConfig(corpus=str(corpus), out=str(tmp_path / "chunked.arpa"), **settings)
    train_ngram(config, chunk_tokens=150, chunk_bytes=101)  # a dozen chunks and runs
    whole = fit_tokens(read_tokens(corpus, config.level, config.lowercase), config)
    whole.save(tmp_path / "whole.arpa")
    assert (tmp_path / "chunked.arpa").read_bytes() == (tmp_path / "whole.arpa").read_bytes()
    assert not list(tmp_path.glob(".ngram-counts-*"))  # the runs on disk are gone


def test_errors_name_the_line_in_any_chunk(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n" * 50 + "a </s> b\n", encoding="utf-8")
    config = NgramTrainConfig(corpus=str(corpus), out=str(tmp_path / "m.arpa"))
    with pytest.raises(DataError, match="c.txt, line 51: the token <s> or </s>"):
        train_ngram(config, chunk_bytes=64)
    corpus.write_bytes(b"a b c\n" * 50 + b"x \xff y\n")
    with pytest.raises(DataError, match="c.txt, line 51: not valid UTF-8"):
        train_ngram(config, chunk_bytes=64)
