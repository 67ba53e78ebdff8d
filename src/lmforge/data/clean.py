"""Text cleaning and the cleaned example set, with counts of every change."""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lmforge.data.cells import as_number, binary_value, is_list, is_missing, label_string, plain, shown
from lmforge.data.columns import ColumnChoice
from lmforge.data.read import file_rows, row_name
from lmforge.data.task import Task
from lmforge.errors import DataError

log = logging.getLogger(__name__)

# Only real HTML elements count as tags, so "a < b and c > d", "List<String>" and
# "<unk>" survive. Inline elements vanish; the others separate words.
INLINE_TAGS = ("a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em", "font",
               "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong",
               "sub", "sup", "tt", "u", "var", "wbr")
BLOCK_TAGS = ("address", "area", "article", "aside", "audio", "blockquote", "body", "br",
              "button", "canvas", "caption", "center", "col", "colgroup", "dd", "details", "div",
              "dl", "dt", "embed", "fieldset", "figcaption", "figure", "footer", "form", "h1",
              "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "iframe", "img",
              "input", "label", "legend", "li", "link", "main", "meta", "nav", "noscript",
              "object", "ol", "option", "p", "param", "picture", "pre", "section", "select",
              "source", "summary", "svg", "table", "tbody", "td", "textarea", "tfoot", "th",
              "thead", "title", "tr", "track", "ul", "video")
_ATTRS = r"""(?:\s+[A-Za-z_:][-\w:.]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>`]+))?)*\s*/?"""
INLINE_TAG = re.compile(rf"</?(?:{'|'.join(INLINE_TAGS)}){_ATTRS}>", re.IGNORECASE)
BLOCK_TAG = re.compile(rf"</?(?:{'|'.join(BLOCK_TAGS)}){_ATTRS}>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]{1,31});")
# C0/C1 controls that are not whitespace (\t\n\v\f\r and \x1c-\x1f are, and collapse
# with the rest), plus zero-width spaces and stray BOMs.
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u200b\u2060\ufeff]")


@dataclass
class CleanReport:
    """How many rows each cleaning step changed or dropped."""

    rows_in: int = 0
    html_stripped: int = 0
    entities_unescaped: int = 0
    control_chars_removed: int = 0
    unicode_normalized: int = 0
    whitespace_normalized: int = 0
    dropped_empty_text: int = 0
    dropped_half_empty_pair: int = 0  # sentence pairs with one empty text
    dropped_missing_label: int = 0
    dropped_duplicates: int = 0
    dropped_conflicting_labels: int = 0
    rows_out: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Examples:
    """Cleaned texts and their targets: label strings (single), sorted tuples of label
    strings (multi) or floats (regression); no targets for prediction input."""

    texts: list[str]
    targets: list[Any]
    task: str
    source: str = ""
    rows: list[int] = field(default_factory=list)  # file row (or line) of each example

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
    """HTML tags and entities, control characters, NFKC, whitespace; counted in ``report``."""
    out = text
    if "<" in out:
        stripped = BLOCK_TAG.sub(" ", INLINE_TAG.sub("", SCRIPT.sub(" ", out)))
        if report is not None and stripped != out:
            report.html_stripped += 1
        out = stripped
    if "&" in out and ENTITY.search(out):
        unescaped = html.unescape(out)
        if report is not None and unescaped != out:
            report.entities_unescaped += 1
        out = unescaped
    if CONTROL.search(out):
        out = CONTROL.sub("", out)
        if report is not None:
            report.control_chars_removed += 1
    if not out.isascii():
        normalized = unicodedata.normalize("NFKC", out)
        if report is not None and normalized != out:
            report.unicode_normalized += 1
        out = normalized
    collapsed = " ".join(out.split())  # same whitespace as re's \s, and much faster
    if report is not None and collapsed != out:
        report.whitespace_normalized += 1
    return collapsed


def build_examples(df: Any, columns: ColumnChoice, task: str, path: Any, label_sep: str = "|",
                   require_label: bool = True) -> tuple[Examples, CleanReport]:
    """Clean texts and read targets; drop empty texts, missing labels, duplicates and texts
    seen with different labels. ``require_label=False`` (prediction input) keeps every row,
    in order, with no targets."""
    report = CleanReport(rows_in=len(df))
    rows = file_rows(df)
    if len(columns.text_columns) > 1:
        return _build_multi(df, columns, task, path, label_sep, require_label)
    raw_texts = list(df[columns.text])
    label_values = [list(df[c]) for c in columns.labels] if require_label else []
    if require_label and all(is_missing(v) for values in label_values for v in values):
        which = (f"column '{columns.labels[0]}'" if len(columns.labels) == 1
                 else f"columns {', '.join(columns.labels)}")
        raise DataError(f"{path}: all labels in {which} are missing. Fill in the labels, or "
                        "pass the right --label-col.")

    texts: list[str] = []
    targets: list[Any] = []
    kept_rows: list[int] = []
    any_text = False
    for i, raw in enumerate(raw_texts):
        text = "" if is_missing(raw) else clean_text(str(plain(raw)), report)
        any_text = any_text or bool(text)
        if require_label:
            if not text:
                report.dropped_empty_text += 1
                continue
            target = _target(task, [values[i] for values in label_values], columns, label_sep,
                             path, df, i)
            if target is None:
                report.dropped_missing_label += 1
                continue
            targets.append(target)
        texts.append(text)
        kept_rows.append(rows[i])
    if not any_text:
        raise DataError(f"{path}: every text in column '{columns.text}' is empty (after removing "
                        "HTML and whitespace). Check that --text-col names the column with the "
                        "text.")
    examples = Examples(texts, targets, task, str(path), kept_rows)
    if require_label:
        examples = _drop_duplicates_and_conflicts(examples, report)
        if not examples.texts:
            raise DataError(f"{path}: no row has both a text and a usable label (dropped: "
                            f"{_drops(report)}). Check --text-col and --label-col, and fix the "
                            "conflicting labels.")
    else:
        empty = sum(1 for t in texts if not t)
        if empty:
            log.warning("%s: %d empty texts kept so that every input row gets a prediction",
                        path, empty)
    report.rows_out = len(examples)
    return examples, report


def _build_multi(df: Any, columns: ColumnChoice, task: str, path: Any, label_sep: str,
                 require_label: bool) -> tuple[Examples, CleanReport]:
    """``build_examples`` for inputs of several columns: each cell cleaned, then joined
    (``data.pairs``). A pair with an empty side cannot be read: dropped and counted
    (labelled data), or an error naming the row (prediction input)."""
    cell_report = CleanReport()
    joined = joined_inputs(df, columns, path, cell_report, strict=not require_label)
    half_empty = sum(1 for text in joined if text is None)
    joined = [text or "" for text in joined]
    names = columns.text_columns
    shown = " + ".join(names)  # a column of the joined inputs, named for messages
    single = ColumnChoice(shown, columns.labels, columns.reason)
    examples, report = build_examples(df.assign(**{shown: joined}), single, task, path,
                                      label_sep, require_label)
    for step in ("html_stripped", "entities_unescaped", "control_chars_removed",
                 "unicode_normalized", "whitespace_normalized"):  # counted per cell
        setattr(report, step, getattr(cell_report, step))
    report.dropped_empty_text -= half_empty
    report.dropped_half_empty_pair = half_empty
    return examples, report


def joined_inputs(df: Any, columns: ColumnChoice, path: Any, report: CleanReport | None = None,
                  strict: bool = False) -> list[str | None]:
    """Each row's input read from several text columns (``data.pairs``): the cells cleaned
    (counted in ``report``), then joined, or made a sentence pair. A pair with one empty text
    is None, or with ``strict`` (prediction input) an error naming the row and column."""
    names = columns.text_columns
    cells = [[("" if is_missing(v) else clean_text(str(plain(v)), report)) for v in df[name]]
             for name in names]
    return [join_cells(parts, columns, path, row_name(df, i) if strict else None)
            for i, parts in enumerate(zip(*cells, strict=True))]


def join_cells(parts: Sequence[str], columns: ColumnChoice, path: Any,
               where: str | None = None) -> str | None:
    """One row's input from its cleaned text cells: joined, or made a sentence pair. A pair
    with one empty text is None, or with ``where`` (the row, for prediction input) an error
    naming it and the column."""
    from lmforge.data.pairs import join_columns, join_pair

    if not columns.pair:
        return join_columns(parts)
    if all(parts) or not any(parts):
        return join_pair(*parts) if all(parts) else ""
    if where is None:
        return None
    empty = columns.text_columns[0] if not parts[0] else columns.text_columns[1]
    raise DataError(f"{path}: {where}, column '{empty}' is empty, but this model reads "
                    "sentence pairs: both texts are needed. Fill it in or remove the row.")


def _drops(report: CleanReport) -> str:
    parts = [f"{k.removeprefix('dropped_').replace('_', ' ')}: {v}"
             for k, v in report.as_dict().items() if k.startswith("dropped_") and v]
    return ", ".join(parts) or "none dropped"


def _target(task: str, values: list[Any], columns: ColumnChoice, label_sep: str, path: Any,
            df: Any, i: int) -> Any:
    """The target of row ``i``, or None when its label is missing."""
    if len(columns.labels) > 1:  # multi-label 0/1 columns
        if all(is_missing(v) for v in values):
            return None
        names = []
        for name, value in zip(columns.labels, values, strict=True):
            if is_missing(value):
                continue
            flag = binary_value(value)
            if flag is None:
                raise DataError(f"{path}: {row_name(df, i)}, column '{name}': {shown(value)} is "
                                "not 0 or 1. Multi-label columns hold 1 where the label applies "
                                "and 0 (or nothing) where it does not.")
            if flag:
                names.append(name)
        return tuple(sorted(names))
    value = values[0]
    if is_missing(value):
        return None
    name = columns.labels[0]
    if task == Task.MULTI:
        value = plain(value)
        parts = value if is_list(value) else str(value).split(label_sep)
        return tuple(sorted({label_string(p) for p in parts if not is_missing(p)}))
    if task == Task.REGRESSION:
        number = as_number(value)
        if number is None:
            raise DataError(f"{path}: {row_name(df, i)}, column '{name}': {shown(value)} is not "
                            "a number, but regression needs numeric labels. Fix the value, or "
                            "choose --task single.")
        return number
    if is_list(value):
        raise DataError(f"{path}: {row_name(df, i)}, column '{name}': {shown(value)} is a list, "
                        "but single-label classification needs one label per row. Use --task "
                        "multi.")
    return label_string(value)


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
    """Refuse example sets no model can learn from."""
    if not len(examples):
        raise DataError(f"{path}: no examples left after cleaning. Add labelled rows.")
    if examples.task == Task.SINGLE:
        classes = sorted(set(examples.targets))
        if len(classes) < 2:
            raise DataError(f"{path}: only one class ('{classes[0]}') after cleaning; a "
                            "classifier needs at least two classes. Add examples of other "
                            "classes, or check --label-col.")
    elif examples.task == Task.MULTI:
        if not any(examples.targets):
            raise DataError(f"{path}: no example has any label (every label set is empty). "
                            "Check the label column(s) and --label-sep.")
    elif examples.task == Task.REGRESSION:
        if len(set(examples.targets)) < 2:
            raise DataError(f"{path}: every target is {examples.targets[0]}; regression needs "
                            "targets that vary. Check --label-col.")
