"""What a data scientist looks at after the headline numbers (single-label runs).

- ``accuracy_interval``: a 95% Wilson score interval on test accuracy (better than the
  normal approximation near 0 or 1 and for small n; Wilson 1927, Brown, Cai & DasGupta 2001);
- ``calibration``: a reliability table in equal-width confidence bins and the expected
  calibration error (ECE, Guo et al. 2017: the n-weighted mean |accuracy - confidence|);
- ``one_class_warning``: the model predicts (almost) one class for everything;
- ``confident_mistakes``: the misclassified texts, most confident first, per class pair.

Pure functions over numbers and lists; nothing here reads files or logs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

CONFIDENCE_LEVEL = 0.95
Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile
CALIBRATION_BINS = 10
# a model that gives one class at least this share of its predictions, while that class is
# at most ONE_CLASS_TRUE_SHARE of the true labels, has collapsed to it
ONE_CLASS_SHARE = 0.9
ONE_CLASS_TRUE_SHARE = 0.75
MISTAKES_PER_PAIR = 3


def accuracy_interval(correct: int, n: int) -> dict[str, Any]:
    """95% Wilson score interval for a proportion of ``correct`` out of ``n``."""
    if n <= 0:
        raise ValueError("accuracy_interval: n must be positive")
    p = correct / n
    z2 = Z_95 * Z_95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # at 0 or n right the bound is exactly 0 or 1; floating point would miss it by 1e-16
    return {"method": "wilson", "level": CONFIDENCE_LEVEL,
            "low": 0.0 if correct == 0 else max(0.0, centre - half),
            "high": 1.0 if correct == n else min(1.0, centre + half)}


def calibration(confidences: Sequence[float], correct: Sequence[bool],
                n_bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Reliability table of the top-class probability: per equal-width bin of (0, 1], the
    texts in it, their mean confidence and their accuracy; ``ece`` weighs each bin's
    |accuracy - confidence| by its share of the texts."""
    if len(confidences) != len(correct):
        raise ValueError("calibration: confidences and correct differ in length")
    if not confidences:
        raise ValueError("calibration: no examples")
    bins: list[dict[str, Any]] = []
    totals = [[0, 0.0, 0] for _ in range(n_bins)]  # n, sum of confidence, correct
    for c, ok in zip(confidences, correct, strict=True):
        # rounded first: 0.7 * 10 is 7.000000000000001 in floating point, not bin (0.7, 0.8]
        i = min(n_bins - 1, max(0, math.ceil(round(float(c) * n_bins, 9)) - 1))
        totals[i][0] += 1
        totals[i][1] += float(c)
        totals[i][2] += int(bool(ok))
    n = len(confidences)
    ece = 0.0
    for i, (count, conf_sum, right) in enumerate(totals):
        entry: dict[str, Any] = {"low": i / n_bins, "high": (i + 1) / n_bins, "n": count,
                                 "confidence": None, "accuracy": None}
        if count:
            entry["confidence"] = conf_sum / count
            entry["accuracy"] = right / count
            ece += count / n * abs(entry["accuracy"] - entry["confidence"])
        bins.append(entry)
    return {"ece": ece, "bins": bins}


def one_class_warning(split: dict[str, Any], name: str = "test") -> str | None:
    """A sentence when the model gives one class to (almost) every text of ``split`` (a
    metrics.json split with ``confusion_matrix`` and ``labels``), else None."""
    matrix = split.get("confusion_matrix")
    labels = split.get("labels") or []
    if not matrix or len(labels) < 2:
        return None
    n = sum(sum(row) for row in matrix)
    if not n:
        return None
    predicted = [sum(row[j] for row in matrix) for j in range(len(labels))]
    top = max(range(len(labels)), key=lambda j: predicted[j])
    share = predicted[top] / n
    true_share = sum(matrix[top]) / n
    if share < ONE_CLASS_SHARE or true_share > ONE_CLASS_TRUE_SHARE:
        return None
    return (f"the model predicts '{labels[top]}' for {predicted[top]} of {n} {name} texts "
            f"({share:.0%}; its true share is {true_share:.0%}): it has not learned to tell the "
            "classes apart. Train longer (--epochs), with a larger --lr or more data, or use "
            "--class-weights balanced.")


def model_warnings(metrics: dict[str, Any]) -> list[str]:
    """Warnings about the trained model from metrics.json's scores (test split, else
    validation): for now, a model that predicts one class for (almost) everything."""
    for name in ("test", "validation"):
        split = metrics.get(name)
        if isinstance(split, dict):
            warning = one_class_warning(split, name)
            return [warning] if warning else []
    return []


def confident_mistakes(probabilities: Any, y_true: Sequence[int], labels: Sequence[str],
                       texts: Sequence[str]) -> list[dict[str, Any]]:
    """Every misclassified text: its row (0-based position in ``texts``), true and predicted
    label, the predicted class's probability and the true class's; sorted by class pair
    (most mistakes first), then by confidence, highest first."""
    import numpy as np

    probs = np.asarray(probabilities, dtype=float)
    predicted = probs.argmax(axis=1)
    rows = []
    for i, (t, p) in enumerate(zip(y_true, predicted, strict=True)):
        if int(t) != int(p):
            rows.append({"row": i, "true": labels[int(t)], "predicted": labels[int(p)],
                         "confidence": float(probs[i, p]),
                         "true_probability": float(probs[i, int(t)]), "text": texts[i]})
    per_pair: dict[tuple[str, str], int] = {}
    for r in rows:
        per_pair[(r["true"], r["predicted"])] = per_pair.get((r["true"], r["predicted"]), 0) + 1
    rows.sort(key=lambda r: (-per_pair[(r["true"], r["predicted"])], r["true"], r["predicted"],
                             -r["confidence"], r["row"]))
    return rows


def top_per_pair(mistakes: Sequence[dict[str, Any]],
                 per_pair: int = MISTAKES_PER_PAIR) -> list[dict[str, Any]]:
    """The first ``per_pair`` mistakes of each class pair (``confident_mistakes``' order)."""
    taken: dict[tuple[str, str], int] = {}
    out = []
    for m in mistakes:
        key = (m["true"], m["predicted"])
        if taken.get(key, 0) < per_pair:
            taken[key] = taken.get(key, 0) + 1
            out.append(m)
    return out
