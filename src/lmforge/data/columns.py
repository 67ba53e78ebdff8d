"""Which column holds the text and which the label(s): given, or detected."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmforge.errors import DataError

log = logging.getLogger(__name__)

TEXT_NAMES = ("text", "sentence", "review", "content", "body", "comment", "document", "tweet",
              "message", "review_text", "title", "question", "abstract", "description")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "score",
               "rating", "topic", "tag", "tags", "intent", "stars")


@dataclass(frozen=True)
class ColumnChoice:
    text: str
    labels: tuple[str, ...]
    reason: str


def _is_binary_column(values: Any) -> bool:
    present = [str(v).strip() for v in values if v is not None and str(v).strip() != ""]
    return bool(present) and all(v in {"0", "1", "0.0", "1.0", "True", "False"} for v in present)


def _mean_length(values: Any) -> float:
    texts = [str(v) for v in values if v is not None]
    return sum(len(t) for t in texts) / max(1, len(texts))


def _numeric_share(values: Any) -> float:
    present = [v for v in values if v is not None]
    ok = 0
    for v in present:
        try:
            float(v)
            ok += 1
        except (TypeError, ValueError):
            pass
    return ok / max(1, len(present))


def detect_columns(df: Any, path: Any, text_col: str | None = None,
                   label_col: str | Sequence[str] | None = None,
                   require_label: bool = True) -> ColumnChoice:
    columns = [str(c) for c in df.columns]
    listing = ", ".join(columns)

    def check(name: str, flag: str) -> str:
        if name not in columns:
            raise DataError(f"column '{name}' is not in {path}; its columns are: {listing}. "
                            f"Pass {flag} with one of them.")
        return name

    lower = {c.lower(): c for c in columns}
    reasons = []
    if text_col:
        text = check(text_col, "--text-col")
        reasons.append(f"text column '{text}' (given)")
    elif len(columns) == 1 and not require_label:
        text = columns[0]
        reasons.append(f"text column '{text}' (the only column)")
    else:
        by_name = next((lower[n] for n in TEXT_NAMES if n in lower), None)
        if by_name is not None:
            text = by_name
            reasons.append(f"text column '{text}' (by name)")
        else:
            candidates = [c for c in columns if _numeric_share(df[c]) < 0.5
                          and _mean_length(df[c]) >= 15]
            if not candidates:
                raise DataError(f"{path}: no text column found; its columns are: {listing}. "
                                "Pass --text-col NAME.")
            text = max(candidates, key=lambda c: _mean_length(df[c]))
            reasons.append(f"text column '{text}' (longest strings)")

    labels: tuple[str, ...] = ()
    if label_col:
        names = [label_col] if isinstance(label_col, str) else list(label_col)
        names = [n.strip() for name in names for n in name.split(",") if n.strip()]
        labels = tuple(check(n, "--label-col") for n in names)
        reasons.append(f"label column{'s' if len(labels) > 1 else ''} "
                       f"{', '.join(repr(n) for n in labels)} (given)")
    elif require_label:
        rest = [c for c in columns if c != text]
        by_name = next((lower[n] for n in LABEL_NAMES if n in lower and lower[n] != text), None)
        binary = [c for c in rest if _is_binary_column(df[c])]
        if by_name is not None:
            labels = (by_name,)
            reasons.append(f"label column '{by_name}' (by name)")
        elif len(binary) >= 2:
            labels = tuple(binary)
            reasons.append(f"multi-label 0/1 columns {', '.join(binary)}")
        else:
            candidates = [c for c in rest if df[c].nunique(dropna=True) <= max(2, 0.5 * len(df))
                          or _numeric_share(df[c]) > 0.95]
            if not candidates:
                raise DataError(f"{path}: no label column found; its columns are: {listing}. "
                                "Pass --label-col NAME.")
            labels = (min(candidates, key=lambda c: df[c].nunique(dropna=True)),)
            reasons.append(f"label column '{labels[0]}' (few distinct values)")
        if text in labels:
            raise DataError(f"{path}: column '{text}' cannot be both the text and the label. "
                            "Pass --text-col and --label-col.")
    return ColumnChoice(text=text, labels=labels, reason=", ".join(reasons))
