"""Data in: read -> detect columns and task -> clean -> split -> tokenize.

Each stage is a plain function in its own module; ``load_examples`` chains the
first four for the common case.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.data.clean import CleanReport, Examples
    from lmforge.data.columns import ColumnChoice
    from lmforge.data.task import TaskChoice

log = logging.getLogger(__name__)


@dataclass
class LoadedExamples:
    examples: Examples
    columns: ColumnChoice
    task: TaskChoice
    clean: CleanReport
    encoding: str


def load_examples(path: str | os.PathLike[str], *, text_col: str | None = None,
                  label_col: Any = None, task: str = "auto", label_sep: str = "|",
                  require_label: bool = True) -> LoadedExamples:
    from lmforge.data.clean import build_examples
    from lmforge.data.columns import detect_columns
    from lmforge.data.read import read_table
    from lmforge.data.task import TaskChoice, detect_task

    df = read_table(path)
    columns = detect_columns(df, path, text_col, label_col, require_label=require_label)
    if require_label:
        choice = detect_task(df, columns, path, task, label_sep)
    else:
        choice = TaskChoice("single" if task == "auto" else task, "prediction input")  # type: ignore[arg-type]
    log.info("%s: %s; %s", path, columns.reason, choice.reason)
    examples, report = build_examples(df, columns, choice.task, path, label_sep, require_label)
    _log_cleaning(path, report)
    return LoadedExamples(examples, columns, choice, report, df.attrs.get("encoding", "utf-8"))


def load_with_schema(path: str | os.PathLike[str], columns: ColumnChoice, task: str,
                     label_sep: str = "|") -> LoadedExamples:
    """Read another file (validation, test, evaluation) with the training file's columns."""
    from lmforge.data.clean import build_examples
    from lmforge.data.columns import ColumnChoice as Choice
    from lmforge.data.columns import detect_columns
    from lmforge.data.read import read_table
    from lmforge.data.task import TaskChoice

    df = read_table(path)
    checked = detect_columns(df, path, columns.text, list(columns.labels))
    examples, report = build_examples(df, Choice(checked.text, checked.labels, checked.reason),
                                      task, path, label_sep)
    _log_cleaning(path, report)
    return LoadedExamples(examples, checked, TaskChoice(task, "same as training"),  # type: ignore[arg-type]
                          report, df.attrs.get("encoding", "utf-8"))


def _log_cleaning(path: Any, report: CleanReport) -> None:
    dropped = {k: v for k, v in report.as_dict().items() if k.startswith("dropped_") and v}
    if dropped:
        log.info("%s: %d rows in, %d kept; dropped %s", path, report.rows_in, report.rows_out,
                 ", ".join(f"{k.removeprefix('dropped_').replace('_', ' ')} {v}"
                           for k, v in dropped.items()))
