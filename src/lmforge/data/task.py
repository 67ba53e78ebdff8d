"""Single-label, multi-label or regression: given, or decided from the labels."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lmforge.data.cells import as_number, is_list, is_missing, label_string, shown
from lmforge.data.columns import ColumnChoice
from lmforge.data.read import file_row, row_name
from lmforge.errors import DataError


class Task(StrEnum):
    """What a model predicts. A ``str`` enum: ``Task.SINGLE == "single"``, and it is written
    to JSON as the plain string, so metrics.json and old run directories read the same. YAML's
    safe dumper takes plain ``str`` only: write ``task.value`` (``TrainConfig.task`` holds one)."""

    SINGLE = "single"  # one label per text
    MULTI = "multi"  # any number of labels per text
    REGRESSION = "regression"  # a number per text

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


TASKS = ("auto", *(t.value for t in Task))  # what --task accepts: a task, or auto (detected)
# Numeric labels are a regression target when there are too many values to be class ids.
REGRESSION_MIN_DISTINCT = 21
REGRESSION_MIN_DISTINCT_FRACTIONAL = 11

__all__ = ["TASKS", "Task", "TaskChoice", "detect_task", "file_row"]


@dataclass(frozen=True)
class TaskChoice:
    task: Task
    reason: str


def detect_task(df: Any, columns: ColumnChoice, path: Any, task: str = "auto",
                label_sep: str = "|") -> TaskChoice:
    """The task: ``task`` checked against the labels, or decided from them when "auto"."""
    if task not in TASKS:
        raise DataError(f"unknown task '{task}'; valid tasks are: {', '.join(TASKS)}. Pass "
                        "--task with one of them.")
    if not columns.labels:
        if task == "auto":
            return TaskChoice(Task.SINGLE, "no label column (prediction input)")
        return TaskChoice(Task(task), f"--task {task} (given); no label column")
    if len(columns.labels) > 1:
        if task not in ("auto", "multi"):
            raise DataError(f"{path}: several label columns ({', '.join(columns.labels)}) make a "
                            f"multi-label task, not '{task}'. Pass one --label-col, or --task "
                            "multi.")
        how = "(given)" if task == "multi" else "->"
        return TaskChoice(Task.MULTI, f"{len(columns.labels)} 0/1 label columns {how} multi-label "
                          "classification")
    name = columns.labels[0]
    present = [(i, v) for i, v in enumerate(df[name]) if not is_missing(v)]
    if task == "regression":
        for i, v in present:
            if as_number(v) is None:
                raise DataError(f"{path}: {row_name(df, i)}, column '{name}': {shown(v)} is not a "
                                "number, but --task regression needs numeric labels. Fix the "
                                "value, or choose --task single.")
        return TaskChoice(Task.REGRESSION, f"--task regression (given); label column '{name}' is "
                          "numeric")
    if task in ("single", "multi"):
        return TaskChoice(Task(task), f"--task {task} (given); label column '{name}'")

    if any(is_list(v) for _, v in present):
        return TaskChoice(Task.MULTI, f"label column '{name}' holds lists -> multi-label "
                          "classification")
    strings = [label_string(v) for _, v in present]
    if any(label_sep in s for s in strings):
        return TaskChoice(Task.MULTI, f"label column '{name}' has values joined by '{label_sep}' "
                          "-> multi-label classification")
    distinct = set(strings)
    numbers = [as_number(v) for _, v in present]
    if present and all(n is not None for n in numbers):
        fractional = any(not n.is_integer() for n in numbers if n is not None)
        if len(distinct) >= REGRESSION_MIN_DISTINCT or (
                fractional and len(distinct) >= REGRESSION_MIN_DISTINCT_FRACTIONAL):
            return TaskChoice(Task.REGRESSION, f"label column '{name}' is numeric with "
                              f"{len(distinct)} distinct values -> regression (pass --task "
                              "single if they are class ids)")
    return TaskChoice(Task.SINGLE, f"label column '{name}' has {len(distinct)} distinct value"
                      f"{'s' if len(distinct) != 1 else ''} -> single-label classification")
