from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import SHARED_DATA

from lmforge.data.columns import detect_columns
from lmforge.data.task import detect_task
from lmforge.errors import DataError


def frame(**cols: list) -> pd.DataFrame:
    return pd.DataFrame(cols)


def test_detect_by_name_and_reason() -> None:
    df = frame(id=["1", "2"], review=["a long review text", "another"], stars=["5", "1"])
    choice = detect_columns(df, "f.csv")
    assert (choice.text, choice.labels) == ("review", ("stars",))
    assert choice.reason == "text column 'review' (by name), label column 'stars' (by name)"


def test_detect_by_content() -> None:
    df = frame(a=["this one is a rather long piece of text", "and here is another such text"],
               b=["x", "y"])
    choice = detect_columns(df, "f.csv")
    assert (choice.text, choice.labels) == ("a", ("b",))


def test_multilabel_binary_columns() -> None:
    df = frame(text=["one text here", "two text here"], sports=["1", "0"], politics=["0", "1"])
    choice = detect_columns(df, "f.csv")
    assert choice.labels == ("sports", "politics")
    assert detect_task(df, choice, "f.csv").task == "multi"


def test_no_text_column_lists_columns() -> None:
    df = frame(a=["1", "2"], b=["3", "4"])
    with pytest.raises(DataError, match=r"f.csv: no text column found; its columns are: a, b. "
                       "Pass --text-col NAME."):
        detect_columns(df, "f.csv")


def test_given_label_col_missing_lists_columns() -> None:
    df = frame(text=["a b c"], label=["x"])
    with pytest.raises(DataError, match=r"column 'sentiment' is not in f.csv; its columns are: "
                       r"text, label. Pass --label-col with one of them."):
        detect_columns(df, "f.csv", label_col="sentiment")


def test_task_auto_decisions() -> None:
    base = {"text": [f"text {i}" for i in range(30)]}
    single = frame(**base, label=["0", "1"] * 15)
    assert detect_task(single, detect_columns(single, "f"), "f").task == "single"
    multi = frame(**base, label=["a|b", "a"] * 15)
    assert detect_task(multi, detect_columns(multi, "f"), "f").task == "multi"
    reg = frame(**base, label=[str(i * 0.37) for i in range(30)])
    choice = detect_task(reg, detect_columns(reg, "f"), "f")
    assert choice.task == "regression" and "numeric with 30 distinct values" in choice.reason


def test_regression_with_text_labels_names_row() -> None:
    df = frame(text=["a", "b", "c"], label=["1.5", "2", "high"])
    with pytest.raises(DataError, match=r"f.csv: row 4, column 'label': 'high' is not a number, "
                       "but --task regression needs numeric labels"):
        detect_task(df, detect_columns(df, "f.csv"), "f.csv", task="regression")


def test_shared_chinese_reviews_columns(tmp_path: Path) -> None:
    lines = (SHARED_DATA / "sentiment_zh_reviews.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "zh.csv").write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    from lmforge.data import load_examples

    loaded = load_examples(tmp_path / "zh.csv")
    assert (loaded.columns.text, loaded.columns.labels) == ("text", ("label",))
    assert set(loaded.examples.targets) <= {"neg", "pos"}
