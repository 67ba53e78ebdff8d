"""Data in: read -> detect columns and task -> clean -> split -> tokenize.

Owns everything about data before a model sees it: reading files, choosing the
columns and the ``Task``, cleaning, the one train/validation/test split of
``lmforge train`` (``split.split_for_training``) and subsets, tokenization.
Each stage is a plain function in its own module; ``load_examples`` chains the
first four for the common case, ``load_with_schema`` reads a further file
(validation, test, evaluation) with the training file's columns, ``read_texts``
reads the texts of an unlabelled file (prediction input); ``stream`` reads prediction
input of any size chunk by chunk, each row's cells as they are.
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

__all__ = ["LoadedExamples", "load_examples", "load_like_training", "load_with_schema",
           "read_inputs", "read_texts", "training_columns"]


@dataclass
class LoadedExamples:
    examples: Examples
    columns: ColumnChoice
    task: TaskChoice
    clean: CleanReport
    encoding: str


def load_examples(path: str | os.PathLike[str], *, text_col: str | Sequence[str] | None = None,
                  label_col: str | Sequence[str] | None = None, task: str = "auto",
                  label_sep: str = "|", require_label: bool = True,
                  pair: str | Sequence[str] | None = None) -> LoadedExamples:
    """Read a file, pick its columns and task, and clean it into examples. Several text
    columns are joined into one input, a ``pair``'s two make a sentence pair (``data.pairs``)."""
    from lmforge.data.clean import build_examples
    from lmforge.data.columns import detect_columns
    from lmforge.data.read import read_table
    from lmforge.data.task import detect_task

    df = read_table(path)
    columns = detect_columns(df, path, text_col, label_col, require_label=require_label,
                             pair=pair)
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
    from lmforge.data.columns import MissingColumnsError
    from lmforge.data.read import read_table
    from lmforge.data.task import detect_task

    df = read_table(path)
    present = [str(c) for c in df.columns]
    wanted = [(name, "text") for name in columns.text_columns] + [(name, "label") for name in columns.labels]
    missing = [(name, role) for name, role in wanted if name not in present]
    if missing:
        names = ", ".join(f"'{name}' (the training data's {role} column)" for name, role in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise MissingColumnsError(
            f"column{'s' if len(missing) > 1 else ''} {names} {verb} not in {path}; its columns "
            f"are: {', '.join(present)}. Give it the same column names as the training data.",
            [name for name, _ in missing])
    same = Choice(columns.text, tuple(columns.labels), "same columns as the training data",
                  pair=columns.pair)
    choice = detect_task(df, same, path, task, label_sep)
    examples, report = build_examples(df, same, choice.task, path, label_sep)
    _log_cleaning(path, report)
    return LoadedExamples(examples, same, choice, report, df.attrs.get("encoding", "utf-8"))


def training_columns(text_col: str | None, label_col: str | None,
                     pair: str | None = None) -> ColumnChoice:
    """The columns a run was trained on, from its config.yaml ``text_col``/``label_col``
    (several columns comma-separated) and ``pair``."""
    from lmforge.data.columns import ColumnChoice as Choice

    return Choice(text=pair or text_col or "text", labels=tuple((label_col or "label").split(",")),
                  reason="columns of the training data", pair=bool(pair))


def load_like_training(path: str | os.PathLike[str], columns: ColumnChoice, task: str,
                       label_sep: str = "|") -> LoadedExamples:
    """A further labelled file read with the training data's ``columns``; when it lacks them,
    with detected columns (``lmforge evaluate``'s rule, and compress's)."""
    from lmforge.data.columns import MissingColumnsError

    try:
        return load_with_schema(path, columns, task, label_sep)
    except MissingColumnsError:
        log.info("training columns not found in %s; detecting columns", path)
        return load_examples(path, task=task, label_sep=label_sep)


def read_texts(path: str | os.PathLike[str], text_col: str | None = None,
               pair: str | None = None) -> list[str]:
    """The cleaned texts of a file with or without labels (``predict``'s input)."""
    return load_examples(path, text_col=text_col, require_label=False, pair=pair).examples.texts


def read_inputs(path: str | os.PathLike[str], settings: dict[str, Any],
                text_col: str | None = None) -> list[str]:
    """``predict``'s input for a run: ``text_col`` when given, else the run's own text
    columns (config.yaml ``text_col``, ``pair``) when the file has them, else detected."""
    from lmforge.data.read import read_table

    if text_col:
        return read_texts(path, text_col)
    pair, run_text = settings.get("pair"), settings.get("text_col")
    wanted = (pair or run_text or "").split(",")
    if pair or (run_text and "," in run_text):
        present = {str(c) for c in read_table(path).columns}
        if all(name in present for name in wanted):
            return read_texts(path, None if pair else run_text, pair=pair)
        if pair:
            from lmforge.data.columns import missing_pair_columns

            raise missing_pair_columns(path, pair, wanted, sorted(present))
    return read_texts(path)


def _log_cleaning(path: Any, report: CleanReport) -> None:
    dropped = {k: v for k, v in report.as_dict().items() if k.startswith("dropped_") and v}
    if dropped:
        log.info("%s: %d rows in, %d kept; dropped %s", path, report.rows_in, report.rows_out,
                 ", ".join(f"{k.removeprefix('dropped_').replace('_', ' ')} {v}"
                           for k, v in dropped.items()))
