"""Which column holds the text and which the label(s): given, or detected."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmforge.data.cells import as_number, binary_value, is_list, is_missing
from lmforge.errors import DataError

log = logging.getLogger(__name__)

# Names are compared lower-cased with spaces and hyphens as underscores; earlier wins.
TEXT_NAMES = ("text", "sentence", "review", "review_text", "content", "body", "comment",
              "document", "tweet", "message", "utterance", "post", "passage", "article",
              "abstract", "description", "question", "query", "summary", "title",
              "文本", "内容", "评论", "句子")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "score",
               "rating", "topic", "stars", "polarity", "emotion", "intent", "tag", "tags",
               "标签", "类别", "情感")
ID_NAME = re.compile(r"^(id|uuid|guid|index|idx|key|row|row_id|.*_id)$")
PROFILE_ROWS = 5000  # detection looks at the first rows only; later stages check every row


class MissingColumnsError(DataError):
    """A file lacks columns it was asked to have (the training data's, for a further file).
    ``missing`` names them: callers that can fall back to detected columns catch this type,
    not a message's wording."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


@dataclass(frozen=True)
class ColumnChoice:
    text: str  # the text column; several (joined, or a pair): their names comma-separated
    labels: tuple[str, ...]  # one label column, or several 0/1 columns (multi-label)
    reason: str
    pair: bool = False  # text names the two columns of a sentence pair

    @property
    def text_columns(self) -> tuple[str, ...]:
        """The columns the input is read from: one, several joined, or a pair's two."""
        return (self.text,) if "," not in self.text else tuple(self.text.split(","))

    @property
    def pair_col(self) -> str | None:
        """config.yaml's ``pair`` ("a,b"), None when the input is not a pair."""
        return self.text if self.pair else None

    @property
    def text_col(self) -> str | None:
        """config.yaml's ``text_col``, None for a pair."""
        return None if self.pair else self.text


def detect_columns(df: Any, path: Any, text_col: str | Sequence[str] | None = None,
                   label_col: str | Sequence[str] | None = None,
                   require_label: bool = True,
                   pair: str | Sequence[str] | None = None) -> ColumnChoice:
    """The text and label column(s) of ``df``: the given names checked, the others detected.
    ``text_col`` may name several columns (joined into one input), ``pair`` two (a sentence
    pair); a pair is also detected by name (``data.pairs.PAIR_NAMES``)."""
    from lmforge.data.pairs import column_names

    columns = [str(c) for c in df.columns]
    given_labels = _split_label_names(label_col, columns)
    texts = column_names(text_col, columns)
    pair_names = column_names(pair, columns)
    if pair_names and texts:
        raise DataError(f"{path}: pass either --text-col or --pair, not both: --pair names the "
                        "two text columns of a sentence pair.")
    if pair and len(pair_names) != 2:
        raise DataError(f"{path}: --pair needs exactly two column names, like --pair "
                        f"sentence1,sentence2; got {', '.join(pair_names) or 'none'}.")
    _check_given(columns, path, texts or pair_names, given_labels,
                 "--pair" if pair_names else "--text-col")

    reasons: list[str] = []
    is_pair = False
    if pair_names:
        text, is_pair = ",".join(pair_names), True
        reasons.append(f"sentence pair of columns '{pair_names[0]}' and '{pair_names[1]}' (given)")
    elif len(texts) > 1:
        text = ",".join(texts)
        reasons.append(f"text columns {', '.join(repr(t) for t in texts)} joined with the "
                       "tokenizer's separator token (given)")
    elif texts:
        text = texts[0]
        reasons.append(f"text column '{text}' (given)")
    elif (found := _detect_pair(columns, given_labels)) is not None:
        text, is_pair = ",".join(found), True
        reasons.append(f"sentence pair of columns '{found[0]}' and '{found[1]}' (by name; "
                       "--text-col NAME reads one column instead)")
    else:
        text, how = _detect_text(df, columns, path, exclude=given_labels, require_label=require_label)
        reasons.append(f"text column '{text}' ({how})")
        hint = _suggest_join(df, columns, text, given_labels)
        if hint:
            reasons.append(hint)
            log.info("%s: %s", path, hint)
    names = text.split(",") if "," in text and text not in columns else [text]

    labels: tuple[str, ...] = ()
    if given_labels:
        labels = tuple(given_labels)
        reasons.append(f"{_label_words(labels)} (given)")
    elif require_label:
        labels, how = _detect_labels(df, columns, path, text)
        reasons.append(f"{_label_words(labels)} ({how})")
    for name in names:
        if name in labels:
            raise DataError(f"{path}: column '{name}' cannot be both the text and the label "
                            "column. Pass different --text-col and --label-col.")
    if len(set(names)) < len(names):
        raise DataError(f"{path}: a column is named twice in {', '.join(names)}. Name each "
                        "text column once.")
    return ColumnChoice(text=text, labels=labels, reason=", ".join(reasons), pair=is_pair)


def _detect_pair(columns: list[str], exclude: Sequence[str]) -> tuple[str, str] | None:
    from lmforge.data.pairs import PAIR_NAMES

    for first, second in PAIR_NAMES:
        a, b = _by_name(columns, (first,), exclude), _by_name(columns, (second,), exclude)
        if a is not None and b is not None:
            return a, b
    return None


def _suggest_join(df: Any, columns: list[str], text: str, exclude: Sequence[str]) -> str:
    """A hint when the file has a short and a long text column (title + body), which are
    usually worth reading together; empty when not."""
    from lmforge.data.pairs import LONG_NAMES, SHORT_NAMES

    short = _by_name(columns, SHORT_NAMES, [*exclude])
    long = _by_name(columns, LONG_NAMES, [*exclude, *([short] if short else [])])
    if short is None or long is None or text not in (short, long):
        return ""
    short_len, long_len = _profile(df, short)["mean_length"], _profile(df, long)["mean_length"]
    if not short_len or long_len < 2 * short_len:
        return ""
    return (f"'{short}' looks like a title of '{long}': --text-col {short},{long} reads both, "
            "joined with the tokenizer's separator token")


def _label_words(labels: Sequence[str]) -> str:
    if len(labels) == 1:
        return f"label column '{labels[0]}'"
    return f"multi-label 0/1 columns {', '.join(repr(n) for n in labels)}"


def _split_label_names(label_col: str | Sequence[str] | None, columns: list[str]) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> names; a whole string that is a column stays one name."""
    if not label_col:
        return []
    if isinstance(label_col, str):
        if label_col in columns:
            return [label_col]
        label_col = label_col.split(",")
    return [n.strip() for n in label_col if n and n.strip()]


def _check_given(columns: list[str], path: Any, texts: list[str],
                 labels: list[str], text_flag: str = "--text-col") -> None:
    missing = [(n, text_flag) for n in texts if n not in columns]
    missing += [(n, "--label-col") for n in labels if n not in columns]
    if not missing:
        return
    listing = ", ".join(columns) or "(none)"
    names = ", ".join(f"'{n}'" for n, _ in missing)
    flags = " / ".join(dict.fromkeys(flag for _, flag in missing))
    hints = []
    for name, _ in missing:
        close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
        close = close or [c for c in columns if c.lower() == name.lower()]
        if close:
            hints.append(f" Did you mean '{close[0]}' for '{name}'?")
    verb = "is" if len(missing) == 1 else "are"
    raise DataError(f"column{'s' if len(missing) > 1 else ''} {names} {verb} not in {path}; its "
                    f"columns are: {listing}. Pass {flags} with one of them.{''.join(hints)}")


# -- detection --------------------------------------------------------------------------

def _normal(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _by_name(columns: list[str], names: Sequence[str], exclude: Sequence[str]) -> str | None:
    normal = {}
    for column in columns:
        normal.setdefault(_normal(column), column)
    for name in names:
        column = normal.get(name)
        if column is not None and column not in exclude:
            return column
    return None


def _profile(df: Any, column: str) -> dict[str, Any]:
    present = [v for v in df[column].iloc[:PROFILE_ROWS] if not is_missing(v)]
    strings = ["|".join(map(str, v)) if is_list(v) else str(v) for v in present]
    return {
        "present": len(present),
        "distinct": len(set(strings)),
        "numeric": sum(as_number(v) is not None for v in present) / max(1, len(present)),
        "mean_length": sum(len(s) for s in strings) / max(1, len(strings)),
        "binary": bool(present) and all(binary_value(v) is not None for v in present),
        "lists": any(is_list(v) for v in present),
    }


def _detect_text(df: Any, columns: list[str], path: Any, exclude: Sequence[str],
                 require_label: bool) -> tuple[str, str]:
    if len(columns) == 1 and not require_label and columns[0] not in exclude:
        return columns[0], "the only column"
    by_name = _by_name(columns, TEXT_NAMES, exclude)
    if by_name is not None:
        return by_name, "by name"
    rows = min(len(df), PROFILE_ROWS)
    candidates = []
    for column in columns:
        if column in exclude or ID_NAME.match(_normal(column)):
            continue
        p = _profile(df, column)
        if not p["present"] or p["numeric"] >= 0.5 or p["lists"]:
            continue
        # a column of few distinct values is a label, however long its names
        if rows >= 10 and p["distinct"] <= 0.2 * rows:
            continue
        candidates.append((p["mean_length"], column))
    if not candidates:
        raise DataError(f"{path}: no text column found; its columns are: "
                        f"{', '.join(columns) or '(none)'}. Pass --text-col NAME.")
    _, text = max(candidates, key=lambda c: c[0])
    return text, "longest strings"


def _detect_labels(df: Any, columns: list[str], path: Any, text: str) -> tuple[tuple[str, ...], str]:
    by_name = _by_name(columns, LABEL_NAMES, exclude=[text])
    if by_name is not None:
        return (by_name,), "by name"
    rest = [c for c in columns if c != text and not ID_NAME.match(_normal(c))]
    profiles = {c: _profile(df, c) for c in rest}
    binary = [c for c in rest if profiles[c]["binary"]]
    if len(binary) >= 2:
        return tuple(binary), "every value 0 or 1"
    rows = min(len(df), PROFILE_ROWS)
    candidates = [c for c in rest if profiles[c]["present"] and (
        profiles[c]["distinct"] <= max(2, 0.5 * rows) or profiles[c]["numeric"] > 0.95
        or profiles[c]["lists"])]
    if not candidates:
        raise DataError(f"{path}: no label column found; its columns are: {', '.join(columns)}. "
                        "Pass --label-col NAME.")
    label = min(candidates, key=lambda c: (profiles[c]["distinct"], columns.index(c)))
    how = f"{profiles[label]['distinct']} distinct values"
    others = [c for c in candidates if c != label]
    if others:
        how += f"; also possible: {', '.join(others)}, pass --label-col to choose"
        log.warning("%s: label column '%s' chosen from several candidates (%s); pass "
                    "--label-col to choose another", path, label, ", ".join(candidates))
    return (label,), how


def missing_pair_columns(source: Any, pair: Any, wanted: Sequence[str],
                         present: Sequence[str]) -> MissingColumnsError:
    """The error for prediction input that lacks a sentence-pair run's columns."""
    missing = [name for name in wanted if name not in present]
    return MissingColumnsError(
        f"{source} lacks the column(s) {', '.join(repr(m) for m in missing)} of the run's "
        f"sentence pairs ({pair}); its columns are: {', '.join(present)}. Give it the training "
        "data's pair columns.", missing)
