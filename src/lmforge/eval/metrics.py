"""Metrics for the three tasks, as JSON-ready dicts of plain Python numbers.

Inputs are integer class ids (single-label), n x k 0/1 rows (multi-label) or
numbers (regression); label names go in so that the per-class results come out
keyed by the user's own strings. Empty or misshapen inputs are programming
errors here (the data layer refuses empty files first), so they raise
``ValueError`` rather than a ``LmforgeError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _per_class(labels: Sequence[str], p: Any, r: Any, f: Any, s: Any) -> dict[str, Any]:
    return {
        label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                "support": int(s[i])}
        for i, label in enumerate(labels)
    }


def _check_lengths(y_true: Any, y_pred: Any, what: str) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{what}: y_true has {len(y_true)} rows but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError(f"{what}: no examples to score")


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str],
                           loss: float | None = None) -> dict[str, Any]:
    """Single-label scores. ``y_*`` are ids into ``labels``; every label gets a
    per-class row and a confusion-matrix row/column, even when it never occurs."""
    import numpy as np
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    _check_lengths(y_true, y_pred, "classification_metrics")
    t = np.asarray(y_true, dtype=int)
    p = np.asarray(y_pred, dtype=int)
    k = len(labels)
    outside = sorted({int(v) for v in np.concatenate([t, p]) if not 0 <= v < k})
    if outside:
        # sklearn would silently drop these from the per-class scores and the matrix
        raise ValueError(f"classification_metrics: class ids {outside} are not in 0..{k - 1} "
                         f"({k} labels)")
    ids = list(range(k))

    def prf(average: str | None) -> Any:
        return precision_recall_fscore_support(t, p, labels=ids, average=average,
                                               zero_division=0)

    precision, recall, f1, support = prf(None)
    macro_p, macro_r, macro_f, _ = prf("macro")
    _, _, weighted_f, _ = prf("weighted")
    return {
        "n": int(len(t)),
        "accuracy": float(np.mean(t == p)),
        "macro_f1": float(macro_f),
        "weighted_f1": float(weighted_f),
        "macro_precision": float(macro_p),
        "macro_recall": float(macro_r),
        "loss": _as_float(loss),
        "labels": [str(label) for label in labels],
        "per_class": _per_class(labels, precision, recall, f1, support),
        "confusion_matrix": [[int(c) for c in row]
                             for row in confusion_matrix(t, p, labels=ids)],
    }


def multilabel_metrics(y_true: Any, y_pred: Any, labels: Sequence[str],
                       loss: float | None = None) -> dict[str, Any]:
    """Multi-label scores from n x k 0/1 indicator rows (columns in ``labels`` order).

    ``subset_accuracy`` counts rows where every label is right; ``hamming_loss`` is
    the share of wrong (row, label) cells.
    """
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support

    _check_lengths(y_true, y_pred, "multilabel_metrics")
    k = len(labels)
    t = np.asarray(y_true, dtype=int)
    p = np.asarray(y_pred, dtype=int)
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.ndim != 2 or a.shape[1] != k:
            raise ValueError(f"multilabel_metrics: {name} must be n x {k} (one column per label), "
                             f"got shape {a.shape}")

    def prf(average: str | None) -> Any:
        return precision_recall_fscore_support(t, p, average=average, zero_division=0)

    precision, recall, f1, support = prf(None)
    _, _, micro_f, _ = prf("micro")
    _, _, macro_f, _ = prf("macro")
    return {
        "n": int(t.shape[0]),
        "micro_f1": float(micro_f),
        "macro_f1": float(macro_f),
        "subset_accuracy": float(np.mean((t == p).all(axis=1))),
        "hamming_loss": float(np.mean(t != p)),
        "loss": _as_float(loss),
        "labels": [str(label) for label in labels],
        "per_class": _per_class(labels, precision, recall, f1, support),
    }


def regression_metrics(y_true: Sequence[float], y_pred: Sequence[float],
                       loss: float | None = None) -> dict[str, Any]:
    """Regression scores. ``r2`` is None when the gold values are all equal and
    ``pearson`` is None when either side is constant (both are undefined then)."""
    import numpy as np

    _check_lengths(y_true, y_pred, "regression_metrics")
    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    errors = t - p
    mse = float(np.mean(errors**2))
    # "constant" is tested exactly (max == min): np.std of [0.1, 0.1, 0.1] is 1e-17,
    # not 0, and would turn rounding noise into a correlation.
    gold_constant = bool(np.ptp(t) == 0)
    r2 = None if gold_constant else float(1.0 - np.sum(errors**2) / np.sum((t - t.mean()) ** 2))
    pearson = None
    if len(t) > 1 and not gold_constant and np.ptp(p) > 0:
        with np.errstate(all="ignore"):
            value = float(np.corrcoef(t, p)[0, 1])
        pearson = value if math.isfinite(value) else None
    return {
        "n": int(len(t)),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(np.mean(np.abs(errors))),
        "r2": r2,
        "pearson": pearson,
        "loss": _as_float(loss),
    }


def compute_metrics(task: str, y_true: Any, y_pred: Any, labels: Sequence[str] | None = None,
                    loss: float | None = None) -> dict[str, Any]:
    """Dispatch on ``task`` ("single", "multi" or "regression")."""
    if task == "regression":
        return regression_metrics(y_true, y_pred, loss)
    if task not in ("single", "multi"):
        raise ValueError(f"compute_metrics: unknown task {task!r}; "
                         "expected 'single', 'multi' or 'regression'")
    if labels is None:
        raise ValueError(f"compute_metrics: task {task!r} needs the label names")
    if task == "single":
        return classification_metrics(y_true, y_pred, labels, loss)
    return multilabel_metrics(y_true, y_pred, labels, loss)
