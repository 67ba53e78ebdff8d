"""Text cleaning and the cleaned example set, with counts of every change."""

from __future__ import annotations

import html
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lmforge.data.columns import ColumnChoice
from lmforge.data.task import file_row
from lmforge.errors import DataError

# Real tags only: "<br>", "<p class='x'>", "</div>", "<br/>" — not "a < b and c > d".
TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s+[^<>]*?)?\s*/?>")
ENTITY = re.compile(r"&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]{1,31});")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SPACES = re.compile(r"\s+")


@dataclass
class CleanReport:
    rows_in: int = 0
    html_stripped: int = 0
    entities_unescaped: int = 0
    control_chars_removed: int = 0
    unicode_normalized: int = 0
    whitespace_normalized: int = 0
    dropped_empty_text: int = 0
    dropped_missing_label: int = 0
    dropped_duplicates: int = 0
    dropped_conflicting_labels: int = 0
    rows_out: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Examples:
    texts: list[str]
    targets: list[Any]
    task: str
    source: str = ""
    rows: list[int] = field(default_factory=list)  # file row of each example

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> Examples:
        return Examples(
            texts=[self.texts[i] for i in indices],
            targets=[self.targets[i] for i in indices] if self.targets else [],
            task=self.task, source=self.source,
            rows=[self.rows[i] for i in indices] if self.rows else [],
        )


def clean_text(text: str, report: CleanReport | None = None) -> str:
    """HTML tags and entities, control characters, NFKC, whitespace."""
    out = text
    stripped = TAG.sub(" ", out)
    if report is not None and stripped != out:
        report.html_stripped += 1
    out = stripped
    if ENTITY.search(out):
        unescaped = html.unescape(out)
        if report is not None and unescaped != out:
            report.entities_unescaped += 1
        out = unescaped
    no_control = CONTROL.sub(" ", out)
    if report is not None and no_control != out:
        report.control_chars_removed += 1
    out = no_control
    normalized = unicodedata.normalize("NFKC", out)
    if report is not None and normalized != out:
        report.unicode_normalized += 1
    out = normalized
    collapsed = SPACES.sub(" ", out).strip()
    if report is not None and collapsed != out:
        report.whitespace_normalized += 1
    return collapsed


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or (
        isinstance(value, str) and not value.strip())


def _label_string(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip()


def _binary(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "1.0", "true"}


def build_examples(df: Any, columns: ColumnChoice, task: str, path: Any, label_sep: str = "|",
                   require_label: bool = True) -> tuple[Examples, CleanReport]:
    report = CleanReport(rows_in=len(df))
    texts: list[str] = []
    targets: list[Any] = []
    rows: list[int] = []
    raw_texts = list(df[columns.text])
    label_values = [list(df[c]) for c in columns.labels] if require_label else []
    for i, raw in enumerate(raw_texts):
        text = "" if _missing(raw) else clean_text(str(raw), report)
        if not text:
            report.dropped_empty_text += 1
            continue
        if require_label:
            target = _target(task, [values[i] for values in label_values], columns, label_sep,
                             path, df, i)
            if target is None:
                report.dropped_missing_label += 1
                continue
            targets.append(target)
        texts.append(text)
        rows.append(file_row(df, i))
    if require_label and not targets and report.dropped_missing_label:
        raise DataError(f"{path}: all labels in column(s) {', '.join(columns.labels)} are missing. "
                        "Fill in the labels or pass the right --label-col.")
    if not texts:
        raise DataError(f"{path}: every text in column '{columns.text}' is empty after cleaning. "
                        "Check --text-col.")
    examples = Examples(texts, targets, task, str(path), rows)
    if require_label:
        examples = _drop_duplicates_and_conflicts(examples, report)
    report.rows_out = len(examples)
    return examples, report


def _target(task: str, values: list[Any], columns: ColumnChoice, label_sep: str, path: Any,
            df: Any, i: int) -> Any:
    if task == "multi" and len(columns.labels) > 1:
        if all(_missing(v) for v in values):
            return None
        return tuple(sorted(name for name, v in zip(columns.labels, values, strict=True)
                            if _binary(v)))
    value = values[0]
    if _missing(value):
        return None
    if task == "multi":
        return tuple(sorted({p.strip() for p in str(value).split(label_sep) if p.strip()}))
    if task == "regression":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise DataError(f"{path}: row {file_row(df, i)}, column '{columns.labels[0]}': "
                            f"{str(value)!r} is not a number, but regression needs numeric "
                            "labels.") from None
    return _label_string(value)


def _drop_duplicates_and_conflicts(examples: Examples, report: CleanReport) -> Examples:
    by_text: dict[str, set[Any]] = defaultdict(set)
    for text, target in zip(examples.texts, examples.targets, strict=True):
        by_text[text].add(target)
    conflicting = {t for t, labels in by_text.items() if len(labels) > 1}
    keep: list[int] = []
    seen: set[str] = set()
    for i, text in enumerate(examples.texts):
        if text in conflicting:
            report.dropped_conflicting_labels += 1
        elif text in seen:
            report.dropped_duplicates += 1
        else:
            seen.add(text)
            keep.append(i)
    return examples.subset(keep)


def check_trainable(examples: Examples, path: Any) -> None:
    if examples.task == "single":
        classes = sorted(set(examples.targets))
        if len(classes) < 2:
            raise DataError(f"{path}: only one class ('{classes[0]}') after cleaning; a "
                            "classifier needs at least two classes. Add examples of other "
                            "classes, or check --label-col.")
    if examples.task == "multi" and not any(examples.targets):
        raise DataError(f"{path}: no example has any label. Check the label column(s).")
