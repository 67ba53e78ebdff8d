"""``lmforge predict`` on input of any size: chunk by chunk, each written before the next is
read, so memory stays flat and the first rows come out at once.

Every output row is its input row unchanged (all columns, in input order; or those of
``keep``/``drop``) plus the prediction: ``predicted_label`` and one ``prob_<label>`` per
label (multi-label: the labels joined by "|"), or ``predicted_value`` for regression.
So the output joins back to the input row by row.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from lmforge.data.cells import as_number, binary_value, is_list, is_missing, label_string, plain
from lmforge.data.stream import Chunk, InputStream
from lmforge.errors import ConfigError, DataError
from lmforge.inference.rows import LABEL_SEPARATOR

log = logging.getLogger(__name__)

PREDICTED_LABEL = "predicted_label"
PREDICTED_VALUE = "predicted_value"
PROB_PREFIX = "prob_"

# texts in, prediction rows out (``rows.prediction_rows``' shape: "label" + "prob_<label>"
# or "value"), in order
PredictFn = Callable[[list[str]], list[dict[str, Any]]]


def prediction_columns(task: str, labels: Sequence[str]) -> list[str]:
    """The columns ``predict`` adds to each input row."""
    if task == "regression":
        return [PREDICTED_VALUE]
    return [PREDICTED_LABEL] + [f"{PROB_PREFIX}{name}" for name in labels]


def prediction_fields(row: dict[str, Any], task: str) -> dict[str, Any]:
    """A prediction row's answer as output columns (its text fields left out)."""
    if task == "regression":
        return {PREDICTED_VALUE: row["value"]}
    fields = {PREDICTED_LABEL: row["label"]}
    fields.update((k, v) for k, v in row.items() if k.startswith(PROB_PREFIX))
    return fields


def passed_columns(columns: Sequence[str], keep: Sequence[str] | None,
                   drop: Sequence[str] | None, source: str) -> list[str]:
    """The input columns an output row carries: all of them in input order, ``keep`` (in
    the order given) or all but ``drop``; a ConfigError names a column the input lacks."""
    for flag, names in (("--keep-columns", keep), ("--drop-columns", drop)):
        unknown = [name for name in names or () if name not in columns]
        if unknown:
            what = "is not a column" if len(unknown) == 1 else "are not columns"
            raise ConfigError(f"{flag}: {', '.join(repr(u) for u in unknown)} {what} of "
                              f"{source}; its columns are: {', '.join(columns)}")
    if keep:
        return list(dict.fromkeys(keep))
    return [c for c in columns if c not in set(drop or ())]


def split_names(value: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]`` (None stays None)."""
    if value is None:
        return None
    return [name.strip() for name in value.split(",") if name.strip()]


class RowWriter:
    """Output rows to a text stream: CSV (the header once, then rows; prediction numbers to 6
    decimals, input cells as read) or JSON lines; flushed after every chunk."""

    def __init__(self, stream: TextIO, fmt: str, columns: list[str],
                 predicted: Sequence[str]) -> None:
        self.stream, self.fmt, self.columns = stream, fmt, columns
        self.predicted = set(predicted)
        self.header_written = False
        self.writer = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if self.writer is None:
            self.stream.writelines(json.dumps(row, ensure_ascii=False, default=str) + "\n"
                                   for row in rows)
        else:
            self._header()
            self.writer.writerows([self._cell(name, row.get(name)) for name in self.columns]
                                  for row in rows)
        self.stream.flush()

    def finish(self) -> None:
        if self.writer is not None:
            self._header()  # an empty input still gets its header
        self.stream.flush()

    def _header(self) -> None:
        if not self.header_written:
            self.writer.writerow(self.columns)
            self.header_written = True

    def _cell(self, name: str, value: Any) -> Any:
        if type(value) is str:  # most cells: as they are
            return value
        if name in self.predicted and isinstance(value, float):
            return f"{value:.6f}"
        return csv_cell(value)


def csv_cell(value: Any) -> Any:
    """An input cell as CSV text: as read, missing as empty, lists and objects as JSON."""
    value = plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@dataclass
class LabelTally:
    """How many of the rows with a true label (the run's label column(s), when the input
    has them) the model got right: exact label (single), exact label set (multi), or the
    mean absolute error (regression)."""

    task: str
    label_columns: tuple[str, ...]
    label_sep: str = LABEL_SEPARATOR
    labelled: int = 0
    correct: int = 0
    abs_error: float = 0.0

    def add(self, records: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]]) -> None:
        for record, prediction in zip(records, predictions, strict=True):
            truth = self._truth(record)
            if truth is None:
                continue
            self.labelled += 1
            if self.task == "regression":
                self.abs_error += abs(float(prediction[PREDICTED_VALUE]) - truth)
            elif self.task == "multi":
                predicted = prediction[PREDICTED_LABEL]
                self.correct += truth == {p for p in predicted.split(LABEL_SEPARATOR) if p}
            else:
                self.correct += truth == prediction[PREDICTED_LABEL]

    def _truth(self, record: dict[str, Any]) -> Any:
        values = [record.get(name) for name in self.label_columns]
        if all(is_missing(v) for v in values):
            return None
        if len(values) > 1:  # multi-label 0/1 columns
            return {name for name, v in zip(self.label_columns, values, strict=True)
                    if not is_missing(v) and binary_value(v)}
        value = plain(values[0])
        if self.task == "regression":
            return as_number(value)
        if self.task == "multi":
            parts = value if is_list(value) else str(value).split(self.label_sep)
            return {label_string(p) for p in parts if not is_missing(p)}
        return label_string(value)

    def summary(self, rows: int) -> str | None:
        """'412 of 500 rows have a label: 82.4% correct — ...', None with no labelled row."""
        if not self.labelled:
            return None
        noun = "value" if self.task == "regression" else "label"
        where = ", ".join(f"'{c}'" for c in self.label_columns)
        head = f"{self.labelled:,} of {rows:,} rows have a {noun} (column {where})"
        if self.task == "regression":
            result = f"mean absolute error {self.abs_error / self.labelled:.4g}"
        elif self.task == "multi":
            result = f"{self.correct / self.labelled:.1%} have exactly the right labels"
        else:
            result = f"{self.correct / self.labelled:.1%} correct"
        return f"{head}: {result} — `lmforge evaluate` gives the full report"


def label_tally(settings: dict[str, Any], task: str, columns: Sequence[str]) -> LabelTally | None:
    """A tally for the run's label column(s) when the input has all of them, else None."""
    names = tuple(n for n in str(settings.get("label_col") or "").split(",") if n)
    if not names or not all(name in columns for name in names):
        return None
    return LabelTally(task, names, str(settings.get("label_sep") or LABEL_SEPARATOR))


@dataclass
class StreamResult:
    rows: int = 0
    empty_texts: int = 0
    seconds: float = 0.0
    tally: LabelTally | None = None
    columns: list[str] = field(default_factory=list)


def predict_stream(stream: InputStream, predict: PredictFn, out: TextIO, *, task: str,
                   labels: Sequence[str], settings: dict[str, Any], fmt: str = "csv",
                   text_col: str | None = None, keep: Sequence[str] | None = None,
                   drop: Sequence[str] | None = None, show_progress: bool = True) -> StreamResult:
    """Predict every row of ``stream`` with ``predict`` and write it to ``out`` (``fmt`` csv
    or jsonl), one chunk at a time. ``settings`` are the run's (config.yaml): which columns
    make its input (``data.stream.input_columns``) and its label column, whose rows are
    counted right or wrong."""
    from lmforge.data.stream import chunk_inputs, input_columns
    from lmforge.inference.long_texts import counting_long_texts, note_long_texts
    from lmforge.progress import Progress

    inputs = input_columns(stream, settings, text_col)
    if stream.kind != "literal":
        log.info("%s: %s", stream.source, inputs.reason)
    passed = passed_columns(stream.columns, keep, drop, stream.source)
    predicted = prediction_columns(task, labels)
    clash = [c for c in passed if c in predicted]
    if clash:
        raise ConfigError(f"{stream.source} already has the column(s) {', '.join(clash)} that "
                          "predict adds (an earlier prediction?): pass --drop-columns "
                          f"{','.join(clash)} to replace them")
    writer = RowWriter(out, fmt, passed + predicted, predicted)
    result = StreamResult(tally=label_tally(settings, task, stream.columns),
                          columns=passed + predicted)
    extra_warned: set[str] = set()
    started = time.perf_counter()
    # a backend says how many texts were too long for each call, so for each chunk: count
    # them over the whole input and say it once
    with Progress("predict", total=stream.total_rows, unit="row", enabled=show_progress,
                  fraction=stream.fraction_read) as progress, counting_long_texts() as long:
        for number, chunk in enumerate(stream.chunks):
            texts = chunk_inputs(chunk, inputs, stream.source)
            empty = sum(1 for t in texts if not t)
            if number == 0 and empty == len(texts) and len(texts) > 1:
                raise DataError(f"{stream.source}: every text in column '{inputs.text}' of the "
                                f"first {len(texts)} rows is empty (after removing HTML and "
                                "whitespace). Check that --text-col names the column with the "
                                "text.")
            predictions = [prediction_fields(row, task) for row in predict(texts)]
            rows = [_output_row(record, passed, fmt, keep, drop) | prediction
                    for record, prediction in zip(chunk.records, predictions, strict=True)]
            if fmt == "csv" and stream.kind == "JSONL" and not keep:
                _warn_new_keys(chunk, passed, drop or (), extra_warned, stream.source)
            writer.write(rows)
            if result.tally is not None:
                result.tally.add(chunk.records, predictions)
            result.rows += len(rows)
            result.empty_texts += empty
            progress.update(len(rows))
    writer.finish()
    result.seconds = time.perf_counter() - started
    max_length = int(settings.get("max_length") or 0)
    note_long_texts(long.shortened, result.rows, max_length,
                    str(settings.get("truncation") or "head+tail"))
    note_long_texts(long.windowed, result.rows, max_length, None)
    if result.empty_texts:
        log.warning("%s: %d empty texts kept so that every input row gets a prediction",
                    stream.source, result.empty_texts)
    return result


def _output_row(record: dict[str, Any], passed: list[str], fmt: str,
                keep: Sequence[str] | None, drop: Sequence[str] | None) -> dict[str, Any]:
    """The input row's cells an output row carries: CSV the header's columns; JSON lines
    each record's own keys (less ``drop``), or ``keep``'s."""
    if fmt != "jsonl" or keep:
        return {name: record.get(name) for name in passed}
    if drop:
        return {k: v for k, v in record.items() if k not in drop}
    return dict(record)


def _warn_new_keys(chunk: Chunk, passed: list[str], dropped: Sequence[str], warned: set[str],
                   source: str) -> None:
    """A warning, once per key, for a JSON key that first appears after the CSV header."""
    for i, record in enumerate(chunk.records):
        for key in record:
            if key not in passed and key not in dropped and key not in warned:
                warned.add(key)
                log.warning("%s: key '%s' first appears on %s, after the CSV header was "
                            "written; it is left out of the CSV (--format jsonl keeps every "
                            "key)", source, key, chunk.where(i))
