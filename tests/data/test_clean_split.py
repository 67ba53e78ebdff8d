from __future__ import annotations

import pandas as pd
import pytest

from lmforge.data.clean import CleanReport, Examples, build_examples, check_trainable, clean_text
from lmforge.data.columns import ColumnChoice
from lmforge.data.split import find_leakage, split_stratified
from lmforge.errors import DataError

COLS = ColumnChoice("text", ("label",), "test")


def test_clean_text_counts_each_change() -> None:
    report = CleanReport()
    assert clean_text("<p>Great&nbsp;film</p><br/>", report) == "Great film"
    assert clean_text("a < b and c > d", report) == "a < b and c > d"
    assert clean_text("ｆｕｌｌ\x07width  \n text", report) == "full width text"
    assert report.html_stripped == 1 and report.entities_unescaped == 1
    assert report.control_chars_removed == 1 and report.unicode_normalized >= 1


def test_build_examples_drops_and_reports() -> None:
    df = pd.DataFrame({"text": ["good", "good", "bad", "same", "same", "", "x", None],
                       "label": ["pos", "pos", "neg", "pos", "neg", "pos", None, "neg"]})
    examples, report = build_examples(df, COLS, "single", "f.csv")
    assert examples.texts == ["good", "bad"] and examples.targets == ["pos", "neg"]
    assert report.dropped_duplicates == 1 and report.dropped_conflicting_labels == 2
    assert report.dropped_empty_text == 2 and report.dropped_missing_label == 1
    assert report.rows_in == 8 and report.rows_out == 2


def test_all_labels_missing() -> None:
    df = pd.DataFrame({"text": ["a", "b"], "label": [None, None]})
    with pytest.raises(DataError, match=r"f.csv: all labels in column\(s\) label are missing"):
        build_examples(df, COLS, "single", "f.csv")


def test_one_class_only() -> None:
    ex = Examples(["a", "b"], ["pos", "pos"], "single")
    with pytest.raises(DataError, match=r"f.csv: only one class \('pos'\) after cleaning; a "
                       "classifier needs at least two classes"):
        check_trainable(ex, "f.csv")


def test_stratified_split_keeps_proportions_and_is_disjoint() -> None:
    texts = [f"t{i}" for i in range(1000)]
    labels = ["a"] * 700 + ["b"] * 300
    splits = split_stratified(Examples(texts, labels, "single"), seed=0)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (700, 100, 200)
    assert splits.test.targets.count("b") == 60
    all_texts = splits.train.texts + splits.validation.texts + splits.test.texts
    assert sorted(all_texts) == sorted(texts)
    again = split_stratified(Examples(texts, labels, "single"), seed=0)
    assert again.test.texts == splits.test.texts


def test_class_with_one_example_cannot_be_stratified() -> None:
    ex = Examples(["a", "b", "c", "d"], ["x", "x", "x", "rare"], "single")
    with pytest.raises(DataError, match=r"f.csv: class 'rare' has 1 example; a stratified split "
                       r"into train and validation and test needs at least 3 per class. Add "
                       "examples of 'rare', remove it, or pass separate --validation/--test files."):
        split_stratified(ex, path="f.csv")


def test_leakage_is_counted() -> None:
    a = Examples(["x", "y", "z"], ["1", "1", "1"], "single")
    b = Examples(["y", "z", "w"], ["1", "1", "1"], "single")
    assert find_leakage({"train": a, "test": b}) == {"train/test": 2}
