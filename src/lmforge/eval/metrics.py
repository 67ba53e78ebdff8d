"""Metrics for the three tasks; plain Python numbers out (JSON-ready)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _per_class(labels: Sequence[str], p: Any, r: Any, f: Any, s: Any) -> dict[str, Any]:
    return {label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                    "support": int(s[i])} for i, label in enumerate(labels)}


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str],
                           loss: float | None = None) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    ids = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, labels=ids, average="macro",
                                                    zero_division=0)
    _, _, wf, _ = precision_recall_fscore_support(y_true, y_pred, labels=ids, average="weighted",
                                                  zero_division=0)
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(mf), "weighted_f1": float(wf),
        "macro_precision": float(mp), "macro_recall": float(mr),
        "loss": loss, "labels": list(labels),
        "per_class": _per_class(labels, p, r, f, s),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
    }


def multilabel_metrics(y_true: Any, y_pred: Any, labels: Sequence[str],
                       loss: float | None = None) -> dict[str, Any]:
    import numpy as np
    from sklearn.metrics import hamming_loss, precision_recall_fscore_support

    t = np.asarray(y_true, dtype=int).reshape(-1, len(labels))
    pr = np.asarray(y_pred, dtype=int).reshape(-1, len(labels))
    p, r, f, s = precision_recall_fscore_support(t, pr, zero_division=0)
    _, _, micro, _ = precision_recall_fscore_support(t, pr, average="micro", zero_division=0)
    _, _, macro, _ = precision_recall_fscore_support(t, pr, average="macro", zero_division=0)
    return {
        "n": int(t.shape[0]), "micro_f1": float(micro), "macro_f1": float(macro),
        "subset_accuracy": float((t == pr).all(axis=1).mean()) if len(t) else 0.0,
        "hamming_loss": float(hamming_loss(t, pr)) if len(t) else 0.0,
        "loss": loss, "labels": list(labels), "per_class": _per_class(labels, p, r, f, s),
    }


def regression_metrics(y_true: Sequence[float], y_pred: Sequence[float],
                       loss: float | None = None) -> dict[str, Any]:
    import numpy as np

    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    mse = float(np.mean((t - p) ** 2)) if len(t) else 0.0
    var = float(np.var(t)) if len(t) else 0.0
    pearson = None
    if len(t) > 1 and np.std(t) > 0 and np.std(p) > 0:
        pearson = float(np.corrcoef(t, p)[0, 1])
    return {
        "n": len(t), "mse": mse, "rmse": mse ** 0.5,
        "mae": float(np.mean(np.abs(t - p))) if len(t) else 0.0,
        "r2": 1 - mse / var if var > 0 else None, "pearson": pearson, "loss": loss,
    }
