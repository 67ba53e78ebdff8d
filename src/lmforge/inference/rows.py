"""The one prediction-row format: what ``lmforge.predict`` returns and what the service
client gives back; ``lmforge predict`` (``inference.stream``) turns each into the columns it
adds to the input row (``predicted_label``, ``prob_<label>``...).

A row is ``{"text", "label", "prob_<label>"...}`` (multi-label: the labels joined by "|"),
or ``{"text", "value"}`` for regression. ``write_rows`` writes a list of them at once (CSV
or JSON lines).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from typing import Any

from lmforge.inference.surface import Predictor, logits_to_outputs

LABEL_SEPARATOR = "|"  # a multi-label row's labels, joined


def prediction_row(text: str, task: str, label: str | Sequence[str] | None = None,
                   scores: Mapping[str, float] | None = None, value: float | None = None,
                   prefix: str = "prob_") -> dict[str, Any]:
    """One row: ``label`` is a string (single-label) or the predicted labels (multi-label),
    ``scores`` one number per label in column order; regression rows hold ``value``."""
    row: dict[str, Any] = _text_fields(text)
    if task == "regression":
        return row | {"value": value}
    row["label"] = label if isinstance(label, str) else LABEL_SEPARATOR.join(label or ())
    row.update({f"{prefix}{name}": score for name, score in (scores or {}).items()})
    return row


def _text_fields(text: str) -> dict[str, Any]:
    """``{"text"}``, or for a sentence pair ``{"text", "text_pair"}`` (``data.pairs``)."""
    from lmforge.data.pairs import PAIR_FIELD, display_text, is_pair, split_pair

    if is_pair(text):
        first, second = split_pair(text)
        return {"text": first, PAIR_FIELD: second}
    return {"text": display_text(text)}


def prediction_rows(clf: Predictor, texts: list[Any]) -> list[dict[str, Any]]:
    """``clf``'s rows for ``texts`` (strings, or ``(first, second)`` sentence pairs), in order
    (one forward pass)."""
    from lmforge.inference.surface import as_texts

    texts = as_texts(texts)
    if not texts:
        return []
    if clf.task == "regression":
        return [prediction_row(t, "regression", value=v)
                for t, v in zip(texts, clf.predict(texts), strict=True)]
    probs = logits_to_outputs(clf.task, clf.logits(texts))
    labels = clf.decode(probs)
    return [prediction_row(text, clf.task, label,
                           {name: float(v) for name, v in zip(clf.labels, p, strict=True)})
            for text, label, p in zip(texts, labels, probs, strict=True)]


def row_columns(task: str, labels: Sequence[str], prefix: str = "prob_",
                pair: bool = False) -> list[str]:
    """The CSV header of rows for ``task`` and ``labels`` (``pair``: sentence-pair rows)."""
    from lmforge.data.pairs import PAIR_FIELD

    texts = ["text", PAIR_FIELD] if pair else ["text"]
    if task == "regression":
        return texts + ["value"]
    return texts + ["label"] + [f"{prefix}{name}" for name in labels]


def write_rows(rows: list[dict[str, Any]], stream: Any, fmt: str, columns: list[str]) -> None:
    """``jsonl``: one JSON object per line; otherwise CSV with ``columns``, numbers to 6
    decimals."""
    if fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
