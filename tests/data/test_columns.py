from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import SHARED_DATA

from lmforge.data.columns import ColumnChoice, detect_columns
from lmforge.data.read import read_table
from lmforge.errors import DataError


def frame(**cols: list) -> pd.DataFrame:
    return pd.DataFrame(cols)


def test_detect_by_name_and_reason() -> None:
    df = frame(id=["1", "2"], Review=["a long review text", "another"], stars=["5", "1"])
    choice = detect_columns(df, "f.csv")
    assert choice == ColumnChoice("Review", ("stars",),
                                  "text column 'Review' (by name), label column 'stars' (by name)")


def test_names_match_case_spaces_and_chinese() -> None:
    df = frame(**{"Review Text": ["good stuff", "bad stuff"], "Class": ["a", "b"]})
    assert detect_columns(df, "f.csv").labels == ("Class",)
    assert detect_columns(df, "f.csv").text == "Review Text"
    zh = frame(**{"内容": ["很好", "很差"], "标签": ["正面", "负面"]})
    assert (detect_columns(zh, "f.csv").text, detect_columns(zh, "f.csv").labels) == ("内容", ("标签",))


def test_detect_by_content() -> None:
    df = frame(code=["X-1", "X-2", "X-3", "X-4"],
               a=["this one is a rather long piece of text", "and here is another such text",
                  "a third text", "and the fourth"],
               b=["x", "y", "y", "x"])
    choice = detect_columns(df, "f.csv")
    assert (choice.text, choice.labels) == ("a", ("b",))
    assert choice.reason == "text column 'a' (longest strings), label column 'b' (2 distinct values)"


def test_content_detection_skips_ids_numbers_and_label_like_columns() -> None:
    n = 40
    df = frame(uuid=[f"3f2a9c1e-77b0-4d1c-9e55-{i:012d}" for i in range(n)],
               price=[str(i * 1.5) for i in range(n)],
               verdict=["a very positive verdict indeed", "a rather negative verdict"] * (n // 2),
               blurb=[f"short {i}" for i in range(n)])
    choice = detect_columns(df, "f.csv")
    assert choice.text == "blurb"  # not the uuid, the number, nor the long two-valued column
    assert choice.labels == ("verdict",)
    assert "also possible: price" in choice.reason


def test_multilabel_binary_columns() -> None:
    df = frame(text=["one text here", "two text here", "three"], id=["0", "1", "0"],
               sports=["1", "0", "1"], politics=["0", "1", ""], tech=[1.0, 0.0, 1.0])
    choice = detect_columns(df, "f.csv")
    assert choice.labels == ("sports", "politics", "tech")
    assert choice.reason == ("text column 'text' (by name), multi-label 0/1 columns 'sports', "
                             "'politics', 'tech' (every value 0 or 1)")


def test_prediction_input_needs_only_text() -> None:
    assert detect_columns(frame(whatever=["a", "b"]), "f.txt", require_label=False) == ColumnChoice(
        "whatever", (), "text column 'whatever' (the only column)")
    df = frame(text=["a b", "c d"], extra=["1", "2"])
    assert detect_columns(df, "f.csv", require_label=False).labels == ()


def test_no_text_column_lists_columns() -> None:
    df = frame(a=["1", "2"], b=["3", "4"])
    with pytest.raises(DataError, match=r"^f.csv: no text column found; its columns are: a, b. "
                       r"Pass --text-col NAME.$"):
        detect_columns(df, "f.csv")


def test_no_label_column_lists_columns() -> None:
    with pytest.raises(DataError, match=r"^f.csv: no label column found; its columns are: text. "
                       r"Pass --label-col NAME.$"):
        detect_columns(frame(text=["a b", "c d"]), "f.csv")


def test_given_columns_are_used_and_checked() -> None:
    df = frame(body=["a b c", "d e f"], Label=["x", "y"], topic=["t", "u"])
    choice = detect_columns(df, "f.csv", text_col="body", label_col="topic")
    assert choice == ColumnChoice("body", ("topic",), "text column 'body' (given), label column "
                                  "'topic' (given)")
    assert detect_columns(df, "f.csv", label_col="Label,topic").labels == ("Label", "topic")
    assert detect_columns(df, "f.csv", label_col=["Label", "topic"]).labels == ("Label", "topic")
    with pytest.raises(DataError, match=r"^column 'label' is not in f.csv; its columns are: body, "
                       r"Label, topic. Pass --label-col with one of them. Did you mean 'Label' for "
                       r"'label'\?$"):
        detect_columns(df, "f.csv", label_col="label")
    with pytest.raises(DataError, match=r"^columns 'txt', 'nope' are not in f.csv; its columns are: "
                       r"body, Label, topic. Pass --text-col / --label-col with one of them."):
        detect_columns(df, "f.csv", text_col="txt", label_col="nope")
    with pytest.raises(DataError, match=r"f.csv: column 'body' cannot be both the text and the "
                       "label column"):
        detect_columns(df, "f.csv", text_col="body", label_col="body")


def test_a_column_name_with_a_comma_is_one_label_column() -> None:
    df = frame(text=["a b", "c d"], **{"good,bad": ["good", "bad"]})
    assert detect_columns(df, "f.csv", label_col="good,bad").labels == ("good,bad",)


def test_shared_chinese_reviews_columns(tmp_path: Path) -> None:
    lines = (SHARED_DATA / "sentiment_zh_reviews.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "zh.csv").write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    df = read_table(tmp_path / "zh.csv")
    choice = detect_columns(df, tmp_path / "zh.csv")
    assert (choice.text, choice.labels) == ("text", ("label",))
    renamed = df.rename(columns={"text": "c1", "label": "c2"})
    choice = detect_columns(renamed, "zh.csv")
    assert (choice.text, choice.labels) == ("c1", ("c2",))  # by content alone
    from lmforge.data import load_examples

    loaded = load_examples(tmp_path / "zh.csv")
    assert loaded.task.task == "single" and set(loaded.examples.targets) == {"neg", "pos"}
    assert len(loaded.examples) == loaded.clean.rows_out > 150
