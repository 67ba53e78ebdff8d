"""Data in: read -> detect columns and task -> clean -> split -> tokenize.

Each stage is a plain function in its own module; ``load_examples`` chains the
first four for the common case, ``load_with_schema`` reads a further file
(validation, test, evaluation) with the training file's columns.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.data.clean import CleanReport, Examples
    from lmforge.data.columns import ColumnChoice
    from lmforge.data.task import TaskChoice

log = logging.getLogger(__name__)

__all__ = ["LoadedExamples", "load_examples", "load_with_schema"]


@dataclass
class LoadedExamples:
    examples: Examples
    columns: ColumnChoice
    task: TaskChoice
    clean: CleanReport
    encoding: str


def load_examples(path: str | os.PathLike[str], *, text_col: str | None = None,
                  label_col: str | Sequence[str] | None = None, task: str = "auto",
                  label_sep: str = "|", require_label: bool = True) -> LoadedExamples:
    """Read a file, pick its columns and task, and clean it into examples."""
    from lmforge.data.clean import build_examples
    from lmforge.data.columns import detect_columns
    from lmforge.data.read import read_table
    from lmforge.data.task import detect_task

    df = read_table(path)
    columns = detect_columns(df, path, text_col, label_col, require_label=require_label)
    choice = detect_task(df, columns, path, task, label_sep)
    log.info("%s: %s; %s", path, columns.reason, choice.reason)
    examples, report = build_examples(df, columns, choice.task, path, label_sep, require_label)
    _log_cleaning(path, report)
    return LoadedExamples(examples, columns, choice, report, df.attrs.get("encoding", "utf-8"))


def load_with_schema(path: str | os.PathLike[str], columns: ColumnChoice, task: str,
                     label_sep: str = "|") -> LoadedExamples:
    """Read another file (validation, test, evaluation) with the training file's columns."""
    from lmforge.data.clean import build_examples
    from lmforge.data.columns import ColumnChoice as Choice
    from lmforge.data.read import read_table
    from lmforge.data.task import detect_task
    from lmforge.errors import DataError

    df = read_table(path)
    present = [str(c) for c in df.columns]
    wanted = [(columns.text, "text")] + [(name, "label") for name in columns.labels]
    missing = [(name, role) for name, role in wanted if name not in present]
    if missing:
        names = ", ".join(f"'{name}' (the training data's {role} column)" for name, role in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise DataError(f"column{'s' if len(missing) > 1 else ''} {names} {verb} not in {path}; "
                        f"its columns are: {', '.join(present)}. Give it the same column names "
                        "as the training data.")
    same = Choice(columns.text, tuple(columns.labels), "same columns as the training data")
    choice = detect_task(df, same, path, task, label_sep)
    examples, report = build_examples(df, same, choice.task, path, label_sep)
    _log_cleaning(path, report)
    return LoadedExamples(examples, same, choice, report, df.attrs.get("encoding", "utf-8"))


def _log_cleaning(path: Any, report: CleanReport) -> None:
    dropped = {k: v for k, v in report.as_dict().items() if k.startswith("dropped_") and v}
    if dropped:
        log.info("%s: %d rows in, %d kept; dropped %s", path, report.rows_in, report.rows_out,
                 ", ".join(f"{k.removeprefix('dropped_').replace('_', ' ')} {v}"
                           for k, v in dropped.items()))
