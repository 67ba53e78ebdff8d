"""Tokenizer training: round trip through AutoTokenizer, Chinese per character, coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.errors import ConfigError, DataError
from lmforge.pretrain.tokenizer import coverage, train_tokenizer
from tests.pretrain.conftest import ZH, english_lines, run_cli, write_lines


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_trained_tokenizer_round_trips_through_autotokenizer(kind: str, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from lmforge.pretrain.run import train_tokenizer_dir

    corpus = write_lines(tmp_path / "c.txt", english_lines(200) + ZH * 5)
    result = train_tokenizer_dir(corpus=[str(corpus)], kind=kind, vocab_size=400,
                                 out=str(tmp_path / "tok"))
    loaded = AutoTokenizer.from_pretrained(str(result.out))
    text = "the cat sees the old tree . 北京的秋天"
    ids = loaded(text)["input_ids"]
    first, last = ("[CLS]", "[SEP]") if kind == "wordpiece" else ("<s>", "</s>")
    assert loaded.convert_ids_to_tokens(ids)[0] == first
    assert loaded.convert_ids_to_tokens(ids)[-1] == last
    assert loaded.mask_token is not None and loaded.pad_token is not None
    assert loaded.unk_token is not None
    assert len(loaded) == result.report["vocab_size"] <= 400
    decoded = loaded.decode(ids, skip_special_tokens=True)
    if kind == "wordpiece":  # BERT's decoder puts spaces between Chinese characters
        assert decoded.replace(" ", "") == text.replace(" ", "")
    else:
        assert decoded.strip() == text
    report = json.loads((result.out / "tokenizer_report.json").read_text(encoding="utf-8"))
    assert report["kind"] == kind and report["corpus"]["lines"] == 230


def test_wordpiece_splits_chinese_per_character() -> None:
    # "北京" is frequent enough for any subword learner to merge; BERT's
    # handling of CJK ideographs splits it before the model sees it
    tok = train_tokenizer(ZH * 50 + ["北京北京北京"] * 50, "wordpiece", 300, min_frequency=1)
    tokens = tok.tokenize("我们去北京。")
    assert tokens == ["我", "们", "去", "北", "京", "。"]
    assert tok.tokenize("北京hotel") [:2] == ["北", "京"]


def test_clm_tokenizer_adds_no_end_token() -> None:
    tok = train_tokenizer(english_lines(100), "bpe", 300, objective="clm")
    tokens = tok.convert_ids_to_tokens(tok("the cat")["input_ids"])
    assert tokens[0] == "<s>" and tokens[-1] != "</s>"


def test_coverage_counts_unknown_tokens_and_names_them() -> None:
    tok = train_tokenizer(ZH * 10, "wordpiece", 200, min_frequency=1)
    report = coverage(tok, ["我们看龘龘", "北京", "   "], name="probe.txt")
    # 我 们 看 龘 龘 | 北 京: 7 tokens, 2 unknown, in 1 of 2 non-blank lines
    assert (report.tokens, report.unknown, report.lines, report.lines_with_unknown) == (7, 2, 2, 1)
    assert report.unknown_share == pytest.approx(2 / 7)
    assert report.top_unknown == [("龘", 2)]
    assert "71.43% of 7 tokens known" in report.summary() and "'龘' x2" in report.summary()


def test_byte_level_bpe_never_has_unknown_tokens() -> None:
    tok = train_tokenizer(english_lines(100), "bpe", 300)
    assert coverage(tok, ["完全没有见过的文字 ☃"]).unknown == 0


def test_vocab_smaller_than_alphabet_is_a_clear_error() -> None:
    with pytest.raises(ConfigError) as err:
        train_tokenizer(ZH * 3, "wordpiece", 20)
    message = str(err.value)
    assert message.startswith("vocab_size: 20 is smaller than the corpus's alphabet:")
    assert "Raise --vocab-size to at least" in message and "--limit-alphabet" in message
    with pytest.raises(ConfigError, match=r"too small for a bpe tokenizer: it needs more than "
                       r"256 bytes \+ 5 special tokens = 261"):
        train_tokenizer(ZH, "bpe", 100)


def test_limit_alphabet_keeps_the_frequent_characters() -> None:
    tok = train_tokenizer(ZH * 3, "wordpiece", 40, limit_alphabet=20, min_frequency=1)
    assert len(tok) <= 40
    assert coverage(tok, ZH).unknown > 0


def test_cli_tokenizer_train_reports_coverage(tmp_path: Path, chinese_corpus: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    probe = write_lines(tmp_path / "probe.txt", ["北京很美丽", "龘"])
    out = tmp_path / "tok"
    code = run_cli(["-q", "tokenizer", "train", "--corpus", str(chinese_corpus), "--kind",
                    "wordpiece", "--vocab-size", "300", "--out", str(out), "--coverage", str(probe)])
    printed = capsys.readouterr().out
    assert code == 0
    assert f"coverage on {probe}: 83.33% of 6 tokens known; unknown 16.67% (1 tokens, in 1 of 2 " \
           "lines); most frequent unknown: '龘' x1" in printed
    assert (out / "tokenizer.json").is_file() and (out / "tokenizer_config.json").is_file()
    assert run_cli(["-q", "tokenizer", "coverage", str(out), "--text-file", str(probe), "--json",
                    str(tmp_path / "cov.json")]) == 0
    assert json.loads((tmp_path / "cov.json").read_text())["unknown"] == 1


def test_cli_tokenizer_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = write_lines(tmp_path / "empty.txt", ["", "   "])
    assert run_cli(["tokenizer", "train", "--corpus", str(empty), "--out", str(tmp_path / "t")]) == 2
    assert capsys.readouterr().err == (
        f"error: the corpus is empty: {empty} contains no text, only blank lines. Pass UTF-8 text "
        "files with one paragraph per line (or CSV/TSV/JSONL/Parquet tables).\n")
    missing = tmp_path / "nope.txt"
    assert run_cli(["tokenizer", "train", "--corpus", str(missing), "--out", str(tmp_path / "t")]) == 2
    assert f"error: corpus file not found: {missing}. Check the path" in capsys.readouterr().err
    with pytest.raises(DataError, match="cannot train a tokenizer on an empty corpus"):
        train_tokenizer(["", " "], "wordpiece", 100)
