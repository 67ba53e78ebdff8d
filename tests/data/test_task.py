from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lmforge.data.columns import ColumnChoice
from lmforge.data.read import read_table
from lmforge.data.task import TaskChoice, detect_task
from lmforge.errors import DataError

LABEL = ColumnChoice("text", ("label",), "test")
TEXTS = [f"text {i}" for i in range(30)]


def task_of(labels: list, task: str = "auto", label_sep: str = "|") -> TaskChoice:
    df = pd.DataFrame({"text": TEXTS[: len(labels)], "label": labels})
    return detect_task(df, LABEL, "f.csv", task, label_sep)


def test_few_labels_are_single_label_classes() -> None:
    assert task_of(["0", "1"] * 15) == TaskChoice(
        "single", "label column 'label' has 2 distinct values -> single-label classification")
    assert task_of([str(i % 20) for i in range(30)]).task == "single"  # 20 class ids
    assert task_of(["pos", "neg", None, ""]).reason.startswith("label column 'label' has 2 distinct")


def test_separator_or_lists_make_multi_label() -> None:
    assert task_of(["a|b", "a"] * 15) == TaskChoice(
        "multi", "label column 'label' has values joined by '|' -> multi-label classification")
    assert task_of(["a,b", "a"], label_sep=",").task == "multi"
    assert task_of(["a,b", "a"]).task == "single"
    assert task_of([["a", "b"], ["a"]]).reason == ("label column 'label' holds lists -> "
                                                   "multi-label classification")


def test_several_label_columns_are_multi_label() -> None:
    cols = ColumnChoice("text", ("a", "b"), "test")
    df = pd.DataFrame({"text": ["x", "y"], "a": ["1", "0"], "b": ["0", "1"]})
    assert detect_task(df, cols, "f.csv") == TaskChoice(
        "multi", "2 0/1 label columns -> multi-label classification")
    with pytest.raises(DataError, match=r"f.csv: several label columns \(a, b\) make a multi-label "
                       "task, not 'single'. Pass one --label-col, or --task multi."):
        detect_task(df, cols, "f.csv", task="single")


def test_many_numeric_values_are_regression() -> None:
    assert task_of([str(i * 0.37) for i in range(30)]) == TaskChoice(
        "regression", "label column 'label' is numeric with 30 distinct values -> regression (pass "
        "--task single if they are class ids)")
    assert task_of([str(i) for i in range(21)]).task == "regression"
    assert task_of([f"{i % 11}.5" for i in range(30)]).task == "regression"
    assert task_of([f"{i % 10}.5" for i in range(30)]).task == "single"
    assert task_of(["nan", "inf"] + [str(i) for i in range(25)]).task == "single"


def test_json_numbers_are_labels_too(tmp_path: Path) -> None:
    lines = [json.dumps({"text": t, "score": i * 0.1}) for i, t in enumerate(TEXTS)]
    (tmp_path / "a.jsonl").write_text("\n".join(lines), encoding="utf-8")
    cols = ColumnChoice("text", ("score",), "test")
    assert detect_task(read_table(tmp_path / "a.jsonl"), cols, "a.jsonl").task == "regression"


def test_given_task_is_validated() -> None:
    with pytest.raises(DataError, match=r"^unknown task 'binary'; valid tasks are: auto, single, "
                       r"multi, regression. Pass --task with one of them.$"):
        task_of(["a"], task="binary")
    assert task_of(["1", "2"], task="regression") == TaskChoice(
        "regression", "--task regression (given); label column 'label' is numeric")
    assert task_of([str(i) for i in range(30)], task="single").task == "single"


def test_regression_with_text_labels_names_row_and_value() -> None:
    with pytest.raises(DataError, match=r"^f.csv: row 4, column 'label': 'high' is not a number, "
                       r"but --task regression needs numeric labels. Fix the value, or choose "
                       r"--task single.$"):
        task_of(["1.5", "2", "high"], task="regression")


def test_regression_error_names_the_file_row_or_line(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text('text,y\na,1\n"multi\nline",2\n\nc,n/a\n', encoding="utf-8")
    cols = ColumnChoice("text", ("y",), "test")
    with pytest.raises(DataError, match=r"a.csv: row 5, column 'y': 'n/a' is not a number"):
        detect_task(read_table(tmp_path / "a.csv"), cols, tmp_path / "a.csv", "regression")
    (tmp_path / "a.jsonl").write_text('{"text": "a", "y": 1}\n\n{"text": "b", "y": "x"}\n',
                                      encoding="utf-8")
    with pytest.raises(DataError, match=r"a.jsonl: line 3, column 'y': 'x' is not a number"):
        detect_task(read_table(tmp_path / "a.jsonl"), cols, tmp_path / "a.jsonl", "regression")


def test_no_label_column_is_prediction_input() -> None:
    df = pd.DataFrame({"text": ["a"]})
    assert detect_task(df, ColumnChoice("text", (), "x"), "f.csv").task == "single"
