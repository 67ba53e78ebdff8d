"""Single-label, multi-label or regression: given, or decided from the labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lmforge.data.columns import ColumnChoice
from lmforge.errors import DataError

TASKS = ("auto", "single", "multi", "regression")


@dataclass(frozen=True)
class TaskChoice:
    task: Literal["single", "multi", "regression"]
    reason: str


def file_row(df: Any, position: int) -> int:
    """Spreadsheet-style row number of the position-th data row (header is row 1)."""
    offset = df.attrs.get("row_offset", 2)
    return position + offset


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def detect_task(df: Any, columns: ColumnChoice, path: Any, task: str = "auto",
                label_sep: str = "|") -> TaskChoice:
    if task not in TASKS:
        raise DataError(f"unknown task '{task}'; valid tasks are: {', '.join(TASKS)}.")
    if len(columns.labels) > 1:
        if task not in ("auto", "multi"):
            raise DataError(f"{path}: several label columns ({', '.join(columns.labels)}) mean a "
                            f"multi-label task, not '{task}'. Pass one --label-col or --task multi.")
        return TaskChoice("multi", f"{len(columns.labels)} 0/1 label columns -> multi-label")
    name = columns.labels[0]
    values = list(df[name])
    present = [(i, v) for i, v in enumerate(values) if v is not None and str(v).strip() != ""
               and not (isinstance(v, float) and v != v)]
    if task == "regression":
        for i, v in present:
            if _as_float(v) is None:
                raise DataError(f"{path}: row {file_row(df, i)}, column '{name}': {str(v)!r} is "
                                "not a number, but --task regression needs numeric labels. Fix "
                                "the value or choose --task single.")
        return TaskChoice("regression", "given (--task regression)")
    if task in ("single", "multi"):
        return TaskChoice(task, f"given (--task {task})")  # type: ignore[arg-type]
    strings = [str(v) for _, v in present]
    distinct = set(strings)
    if any(label_sep in s for s in strings):
        return TaskChoice("multi", f"label column '{name}' has values joined by '{label_sep}' "
                          "-> multi-label")
    numbers = [_as_float(v) for _, v in present]
    if present and all(n is not None for n in numbers):
        non_integer = any(n is not None and not float(n).is_integer() for n in numbers)
        if len(distinct) > 20 or (non_integer and len(distinct) > 10):
            return TaskChoice("regression", f"label column '{name}' is numeric with "
                              f"{len(distinct)} distinct values -> regression")
    return TaskChoice("single", f"label column '{name}' has {len(distinct)} distinct values "
                      "-> single-label classification")
