from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lmforge.data import load_examples, load_with_schema
from lmforge.data.clean import CleanReport, Examples, build_examples, check_trainable, clean_text
from lmforge.data.columns import ColumnChoice
from lmforge.errors import DataError

COLS = ColumnChoice("text", ("label",), "test")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<p class='x'>Great&nbsp;film</p><br/>It was <b>very</b> good", "Great film It was very good"),
        ("one<br>two<BR />three</div>", "one two three"),
        ("a < b and c > d", "a < b and c > d"),
        ("List<String> and <unk> stay", "List<String> and <unk> stay"),
        ("Tom &amp; Jerry&#39;s &lt;show&gt;", "Tom & Jerry's <show>"),
        ("<script>var x = 1;</script>text<!-- note -->", "text"),
        ("bell\x07ring\x00s and zero\u200bwidth", "bellrings and zerowidth"),
        ("ｆｕｌｌ　width ﬁ ①", "full width fi 1"),
        ("  tabs\tand\r\nnew\nlines  ", "tabs and new lines"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_counts_each_change() -> None:
    report = CleanReport()
    clean_text("<p>Great&nbsp;film</p>", report)
    clean_text("a < b and c > d", report)
    clean_text("ｆｕｌｌ\x07width  \n text", report)
    assert report.as_dict() == {
        "rows_in": 0, "html_stripped": 1, "entities_unescaped": 1, "control_chars_removed": 1,
        "unicode_normalized": 2, "whitespace_normalized": 2, "dropped_empty_text": 0,
        "dropped_half_empty_pair": 0, "dropped_missing_label": 0, "dropped_duplicates": 0,
        "dropped_conflicting_labels": 0,
        "rows_out": 0}


def test_build_examples_drops_and_reports() -> None:
    df = pd.DataFrame({"text": ["good", "good ", "bad", "same", "same", "<br>", "x", None, "ok"],
                       "label": ["pos", "pos", "neg", "pos", "neg", "pos", None, "neg", " 1 "]})
    examples, report = build_examples(df, COLS, "single", "f.csv")
    assert examples.texts == ["good", "bad", "ok"] and examples.targets == ["pos", "neg", "1"]
    assert examples.rows == [2, 4, 10] and examples.source == "f.csv"
    assert (report.dropped_duplicates, report.dropped_conflicting_labels) == (1, 2)
    assert (report.dropped_empty_text, report.dropped_missing_label) == (2, 1)
    assert (report.rows_in, report.rows_out) == (9, 3)


def test_targets_of_each_task(tmp_path: Path) -> None:
    rows = [{"text": "a", "label": 1}, {"text": "b", "label": None}, {"text": "c", "label": 0}]
    (tmp_path / "a.jsonl").write_text("\n".join(map(json.dumps, rows)), encoding="utf-8")
    loaded = load_examples(tmp_path / "a.jsonl")  # JSON ints next to a null arrive as 1.0
    assert loaded.examples.targets == ["1", "0"] and loaded.clean.dropped_missing_label == 1
    df = pd.DataFrame({"text": ["a", "b", "c"], "label": ["y | x", "x", ["z", "x"]]})
    examples, _ = build_examples(df, COLS, "multi", "f.csv")
    assert examples.targets == [("x", "y"), ("x",), ("x", "z")]
    df = pd.DataFrame({"text": ["a", "b"], "label": ["1.5", " -2 "]})
    assert build_examples(df, COLS, "regression", "f.csv")[0].targets == [1.5, -2.0]


def test_binary_columns_become_label_name_tuples() -> None:
    cols = ColumnChoice("text", ("sports", "politics"), "test")
    df = pd.DataFrame({"text": ["a", "b", "c", "d"], "sports": ["1", "0", None, "1.0"],
                       "politics": ["1", "0", None, ""]})
    examples, report = build_examples(df, cols, "multi", "f.csv")
    assert examples.targets == [("politics", "sports"), (), ("sports",)]
    assert report.dropped_missing_label == 1
    df.loc[1, "politics"] = "yes"
    with pytest.raises(DataError, match=r"^f.csv: row 3, column 'politics': 'yes' is not 0 or 1. "
                       "Multi-label columns hold 1 where"):
        build_examples(df, cols, "multi", "f.csv")


def test_bad_targets_name_the_row() -> None:
    df = pd.DataFrame({"text": ["a", "b", "c"], "label": ["1", "2", "nan"]})
    with pytest.raises(DataError, match=r"^f.csv: row 4, column 'label': 'nan' is not a number, "
                       "but regression needs numeric labels. Fix the value, or choose --task "
                       "single.$"):
        build_examples(df, COLS, "regression", "f.csv")
    df = pd.DataFrame({"text": ["a", "b"], "label": ["x", ["a", "b"]]})
    with pytest.raises(DataError, match=r"f.csv: row 3, column 'label': \['a', 'b'\] is a list, "
                       "but single-label classification needs one label per row. Use --task multi."):
        build_examples(df, COLS, "single", "f.csv")


def test_all_labels_missing() -> None:
    df = pd.DataFrame({"text": ["a", "", "b"], "label": [None, "  ", float("nan")]})
    with pytest.raises(DataError, match=r"^f.csv: all labels in column 'label' are missing. Fill in "
                       "the labels, or pass the right --label-col.$"):
        build_examples(df, COLS, "single", "f.csv")


def test_every_text_empty() -> None:
    df = pd.DataFrame({"text": ["", "<br>", None], "label": ["a", "b", "c"]})
    with pytest.raises(DataError, match=r"^f.csv: every text in column 'text' is empty \(after "
                       r"removing HTML and whitespace\). Check that --text-col names the column"):
        build_examples(df, COLS, "single", "f.csv")


def test_nothing_left_after_dropping_conflicts() -> None:
    df = pd.DataFrame({"text": ["a", "a", "b"], "label": ["x", "y", None]})
    with pytest.raises(DataError, match=r"^f.csv: no row has both a text and a usable label "
                       r"\(dropped: missing label: 1, conflicting labels: 2\)"):
        build_examples(df, COLS, "single", "f.csv")


def test_prediction_input_keeps_every_row_in_order() -> None:
    df = pd.DataFrame({"text": ["b", "a", "b", "", "<i>c</i>"]})
    examples, report = build_examples(df, ColumnChoice("text", (), "x"), "single", "f.csv",
                                      require_label=False)
    assert examples.texts == ["b", "a", "b", "", "c"] and examples.targets == []
    assert report.rows_out == 5 and report.dropped_duplicates == 0
    assert examples.subset([4, 0]).texts == ["c", "b"]


def test_check_trainable() -> None:
    check_trainable(Examples(["a", "b"], ["x", "y"], "single"), "f.csv")
    with pytest.raises(DataError, match=r"^f.csv: only one class \('pos'\) after cleaning; a "
                       "classifier needs at least two classes. Add examples of other classes"):
        check_trainable(Examples(["a", "b"], ["pos", "pos"], "single"), "f.csv")
    with pytest.raises(DataError, match=r"^f.csv: no example has any label"):
        check_trainable(Examples(["a", "b"], [(), ()], "multi"), "f.csv")
    with pytest.raises(DataError, match=r"^f.csv: every target is 2.0; regression needs targets "
                       "that vary"):
        check_trainable(Examples(["a", "b"], [2.0, 2.0], "regression"), "f.csv")
    with pytest.raises(DataError, match=r"^f.csv: no examples left after cleaning"):
        check_trainable(Examples([], [], "single"), "f.csv")


def test_load_examples_runs_every_stage(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_bytes(
        "comment,sentiment\n好评，推荐,pos\n太差了,neg\n太差了,neg\n".encode("gbk"))
    loaded = load_examples(tmp_path / "train.csv")
    assert loaded.examples.texts == ["好评,推荐", "太差了"]  # NFKC: fullwidth comma
    assert loaded.columns.reason == ("text column 'comment' (by name), label column 'sentiment' "
                                     "(by name)")
    assert loaded.task.task == "single" and loaded.encoding == "gb18030"
    assert loaded.clean.dropped_duplicates == 1


def test_load_with_schema_uses_the_training_columns(tmp_path: Path) -> None:
    (tmp_path / "val.tsv").write_text("id\tsentiment\tcomment\n1\tneg\tbad\n2\tpos\tgood\n",
                                      encoding="utf-8")
    cols = ColumnChoice("comment", ("sentiment",), "training")
    loaded = load_with_schema(tmp_path / "val.tsv", cols, "single")
    assert loaded.examples.texts == ["bad", "good"] and loaded.examples.targets == ["neg", "pos"]
    (tmp_path / "test.csv").write_text("text,label\nbad,neg\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^columns 'comment' \(the training data's text column\), "
                       r"'sentiment' \(the training data's label column\) are not in .*test.csv; "
                       r"its columns are: text, label. Give it the same column names as the "
                       r"training data.$"):
        load_with_schema(tmp_path / "test.csv", cols, "single")
