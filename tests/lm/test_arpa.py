"""ARPA files: write -> read gives identical scores; broken files are refused naming the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lmforge.errors import DataError
from lmforge.lm import fit_ngram, load_ngram
from lmforge.lm.config import SMOOTHINGS


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_round_trip_gives_identical_scores(smoothing: str, tmp_path: Path, train_sentences,
                                           test_sentences) -> None:
    model = fit_ngram(train_sentences, order=3, smoothing=smoothing, lowercase=True)
    model.save(tmp_path / "model.arpa")
    loaded = load_ngram(tmp_path / "model.arpa")
    assert loaded.vocab == model.vocab
    assert (loaded.smoothing, loaded.level, loaded.lowercase) == (smoothing, "word", True)
    assert np.array_equal(loaded.score_sentences(test_sentences), model.score_sentences(test_sentences))
    for k in range(3):
        assert np.array_equal(loaded.keys[k], model.keys[k])
        assert np.array_equal(loaded.logprob[k], model.logprob[k])


def test_file_layout(tmp_path: Path) -> None:
    model = fit_ngram([["a", "b"], ["b"]], order=2, smoothing="kneser-ney", discount=0.5)
    model.save(tmp_path / "m.arpa")
    lines = (tmp_path / "m.arpa").read_text(encoding="utf-8").split("\n")
    assert lines[0].startswith("# lmforge-ngram: {")
    data = lines.index("\\data\\")
    assert lines[data + 1 : data + 3] == ["ngram 1=5", "ngram 2=4"]  # <s> a, a b, b </s>, <s> b
    unigrams = lines[lines.index("\\1-grams:") + 1 : lines.index("\\1-grams:") + 6]
    assert [u.split("\t")[1] for u in unigrams] == ["<unk>", "<s>", "</s>", "a", "b"]
    assert unigrams[1].startswith("-99.0\t<s>\t")  # never predicted; it has a backoff weight
    assert "\t<s> a" in "\n".join(lines) and lines[-2] == "\\end\\"


def test_char_level_round_trip(tmp_path: Path) -> None:
    sentences = [list("我们喜欢北京"), list("北京欢迎你"), list("我们")]
    model = fit_ngram(sentences, order=3, level="char")
    model.save(tmp_path / "zh.arpa")
    loaded = load_ngram(tmp_path / "zh.arpa")
    assert loaded.level == "char"
    expected = model.score_sentences([list("我们喜欢")])[0]
    assert loaded.score("我们 喜欢") == model.score("我们喜欢") == expected


def test_no_half_written_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    model = fit_ngram([["a"]], order=2, smoothing="add-k")
    monkeypatch.setattr("lmforge.lm.arpa._format_section", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        model.save(tmp_path / "m.arpa")
    assert list(tmp_path.iterdir()) == []


GOOD = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-1.0\t<unk>
-99\t<s>\t-0.3
-0.5\t</s>
-0.6\ta\t-0.2

\\2-grams:
-0.1\t<s> a
-0.2\ta </s>

\\end\\
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.arpa"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_a_foreign_arpa_file(tmp_path: Path) -> None:
    model = load_ngram(write(tmp_path, GOOD))
    assert model.smoothing == "unknown" and model.order == 2
    assert model.score("a") == pytest.approx(-0.1 - 0.2)
    assert model.score("a a") == pytest.approx(-0.1 + (-0.2 - 0.6) + -0.2)
    assert model.score("zzz") == pytest.approx((-0.3 - 1.0) + -0.5)


def test_missing_unk_gets_kenlm_value(tmp_path: Path) -> None:
    text = GOOD.replace("ngram 1=4", "ngram 1=3").replace("-1.0\t<unk>\n", "")
    assert load_ngram(write(tmp_path, text)).logprob_of("zzz") == -100.0


@pytest.mark.parametrize(("text", "message"), [
    ("text,label\nhello,pos\n", "line 1: expected '\\data\\' (the start of an ARPA model), found "
     "'text,label'. Is this an ARPA language model?"),
    ("", "line 1: expected '\\data\\' (the start of an ARPA model), found 'the end of the file'"),
    (GOOD.replace("-0.6\ta\t-0.2", "-0.6x\ta\t-0.2"), "line 9: '-0.6x' is not a number"),
    (GOOD.replace("-0.2\ta </s>", "-0.2\ta"), "line 13: expected '<log10 prob> <2 words> "
     "[<log10 backoff>]', found 2 fields."),
    (GOOD.replace("ngram 2=2", "ngram 2=3"), "line 14: the 2-gram section has 2 lines where '\\data\\' "
     "announces 3 ('ngram 2=3'); fix the count or the section."),
    (GOOD.replace("ngram 2=2", "ngram 2=1"), "line 13: the 2-gram section has 2 lines where '\\data\\' "
     "announces 1"),
    (GOOD.replace("\\end\\\n", ""), "expected '\\end\\' (the end of the model; the file may be truncated)"),
    (GOOD.replace("-0.1\t<s> a", "-0.1\t<s> b"), "line 12: the 2-gram '<s> b' uses a word that is not "
     "among the 1-grams"),
    (GOOD.replace("-0.6\ta\t-0.2", "-0.6\t<s>"), "line 9: the unigram '<s>' appears twice (first on line 7)"),
    (GOOD.replace("ngram 2=2", "ngram 3=2"), "line 3: expected the count of 2-grams, found 'ngram 3=2'"),
])
def test_broken_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        load_ngram(path)
    assert str(info.value).startswith(f"{path}, ")
    assert message in str(info.value)


def test_missing_prefix_is_named(tmp_path: Path) -> None:
    text = GOOD.replace("ngram 2=2", "ngram 2=2\nngram 3=1").replace(
        "\\end\\", "\\3-grams:\n-0.1\ta a </s>\n\n\\end\\")
    with pytest.raises(DataError, match=r"line 17: the 3-gram 'a a </s>' has no entry for its first 2 "
                       r"words among the 2-grams"):
        load_ngram(write(tmp_path, text))


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.arpa: no such model file. Check the path given to --model."):
        load_ngram(tmp_path / "nope.arpa")


def test_duplicate_bigram_is_named(tmp_path: Path) -> None:
    text = GOOD.replace("ngram 2=2", "ngram 2=3").replace("-0.2\ta </s>", "-0.2\ta </s>\n-0.3\t<s> a")
    with pytest.raises(DataError, match=r"line 14: the 2-gram '<s> a' appears twice \(first on line 12\)"):
        load_ngram(write(tmp_path, text))


def test_orders_with_no_ngrams_round_trip(tmp_path: Path) -> None:
    model = fit_ngram([["a"], ["b"], ["a"]], order=5, smoothing="modified-kneser-ney")
    assert model.ngram_counts()[3:] == [0, 0]  # no sentence is long enough for 4- and 5-grams
    model.save(tmp_path / "m.arpa")
    loaded = load_ngram(tmp_path / "m.arpa")
    assert loaded.order == 5 and loaded.score("b a b") == model.score("b a b")
