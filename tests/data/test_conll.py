"""Reading token-classification files: formats, BIO repair, and each bad input's message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.token_data import ner_sentences, pos_sentences, write_conll, write_jsonl, zh_sentences

from lmforge.data.conll import (
    CHAR,
    PLAIN,
    WORD,
    entities_of,
    join_tokens,
    read_token_file,
    split_text,
)
from lmforge.errors import DataError


def test_conll_and_jsonl_read_the_same_sentences(tmp_path: Path) -> None:
    sentences = ner_sentences(5)
    conll = read_token_file(write_conll(tmp_path / "a.conll", sentences))
    jsonl = read_token_file(write_jsonl(tmp_path / "a.jsonl", sentences))
    assert (conll.format, jsonl.format) == ("conll", "jsonl")
    assert [s.tokens for s in conll.sentences] == [[t for t, _ in s] for s in sentences]
    assert [s.tags for s in conll.sentences] == [s.tags for s in jsonl.sentences]
    assert conll.scheme == "bio" and conll.unit == WORD and conll.repaired == 0
    assert conll.sentences[1].line == len(sentences[0]) + 2  # after the blank line


def test_conll2003_columns_docstart_and_plain_tags(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n",
                    encoding="utf-8")
    data = read_token_file(path)
    assert data.sentences[0].tokens == ["EU", "rejects"]
    assert data.sentences[0].tags == ["B-ORG", "O"]
    pos = read_token_file(write_conll(tmp_path / "pos.conll", pos_sentences(3)))
    assert pos.scheme == PLAIN


def test_character_level_chinese_from_text_field(tmp_path: Path) -> None:
    path = tmp_path / "zh.jsonl"
    path.write_text(json.dumps({"text": "张伟去北京", "tags": ["B-PER", "I-PER", "O", "B-LOC",
                                                           "I-LOC"]}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    data = read_token_file(path)
    assert data.unit == CHAR and data.sentences[0].tokens == list("张伟去北京")
    assert read_token_file(write_conll(tmp_path / "zh.conll", zh_sentences(4))).unit == CHAR


def test_bio_repair_counts_i_tags_that_start_an_entity(tmp_path: Path) -> None:
    path = tmp_path / "iob1.conll"
    path.write_text("John\tI-PER\nSmith\tI-PER\nin\tO\nNew\tI-LOC\nYork\tI-LOC\n"
                    "Corp\tI-ORG\n", encoding="utf-8")
    data = read_token_file(path)
    assert data.sentences[0].tags == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG"]
    assert data.repaired == 3
    assert data.repairs[0] == "line 1 ('John'): I-PER -> B-PER"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("count.jsonl", '{"tokens": ["a", "b"], "tags": ["O"]}\n',
     "count.jsonl, line 1: 2 tokens but 1 tags; give exactly one tag per token"),
    ("empty.jsonl", '{"tokens": ["a"], "tags": ["O"]}\n{"tokens": [], "tags": []}\n',
     "empty.jsonl, line 2: a sentence with no tokens; remove the line"),
    ("bioes.conll", "a\tB-X\nb\tE-X\n",
     "bioes.conll, line 2: unknown tag scheme: 'E-X' is not BIO/IOB2"),
    ("mixed.conll", "a\tB-PER\nb\tNN\n",
     "mixed.conll, line 2: unknown tag scheme: 'NN' has no B-/I- prefix while other tags are BIO"),
    ("one.conll", "a\tO\nb\n", "one.conll, line 2: expected 'token<TAB>tag', got 'b' (one column)"),
    ("json_in.conll", 'a\tO\n\n{"tokens": ["b"], "tags": ["O"]}\n',
     "json_in.conll, line 3: a JSON line in a CoNLL file (mixed formats)"),
    ("conll_in.jsonl", '{"tokens": ["a"], "tags": ["O"]}\nb\tO\n',
     "conll_in.jsonl, line 2: not valid JSON (Expecting value) (mixed formats: a CoNLL line in "
     "a JSONL file?)"),
])
def test_bad_input_names_the_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_token_file(path)
    assert message in str(err.value)


def test_offsets_of_raw_text_and_of_given_tokens() -> None:
    tokens, spans = split_text("Mary's dog, Rex.", WORD)
    assert tokens == ["Mary", "'", "s", "dog", ",", "Rex", "."]
    assert [("Mary's dog, Rex."[a:b]) for a, b in spans] == tokens
    chars, char_spans = split_text("张伟 去北京", CHAR)
    assert chars == list("张伟去北京") and char_spans[2] == (3, 4)
    text, joined = join_tokens(["New", "York"], WORD)
    assert text == "New York" and joined == [(0, 3), (4, 8)]
    assert entities_of(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"]) == [
        ("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5)]
