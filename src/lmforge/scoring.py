"""Turn model outputs + gold targets into the metrics dict of metrics.json.

One code path for validation during training, the test split at the end of
training, and ``lmforge evaluate`` on new data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lmforge.data.task import Task


def score_outputs(
    task: str, logits: Any, targets: Sequence[Any], labels: Sequence[str],
    scale: tuple[float, float] = (0.0, 1.0),
) -> dict[str, Any]:
    """Metrics from raw logits (numpy, n x k). Loss is the unweighted task loss."""
    import numpy as np

    from lmforge.eval.diagnostics import accuracy_interval, calibration
    from lmforge.eval.metrics import (
        classification_metrics,
        multilabel_metrics,
        regression_metrics,
    )
    from lmforge.inference.surface import logits_to_outputs

    outputs = logits_to_outputs(task, logits)
    if task == Task.SINGLE:
        index = {label: i for i, label in enumerate(labels)}
        y = np.array([index[t] for t in targets])
        # log-softmax computed stably from the logits, not log(probabilities)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = float(-log_probs[np.arange(len(y)), y].mean()) if len(y) else None
        predicted = outputs.argmax(axis=1)
        metrics = classification_metrics(y.tolist(), predicted.tolist(), list(labels), loss)
        correct = predicted == y
        metrics["accuracy_interval"] = accuracy_interval(int(correct.sum()), len(y))
        metrics["calibration"] = calibration(outputs.max(axis=1).tolist(), correct.tolist())
        return metrics
    if task == Task.MULTI:
        index = {label: i for i, label in enumerate(labels)}
        y = np.zeros((len(targets), len(labels)), dtype=np.int64)
        for row, names in enumerate(targets):
            for name in names:
                y[row, index[name]] = 1
        # BCE with logits, numerically stable form
        loss_matrix = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
        loss = float(loss_matrix.mean()) if len(y) else None
        return multilabel_metrics(y.tolist(), (outputs >= 0.5).astype(int).tolist(), list(labels), loss)
    mean, std = scale
    gold = np.array([float(t) for t in targets])
    pred = outputs * std + mean
    loss = float(np.mean(((pred - gold) / std) ** 2)) if len(gold) else None
    return regression_metrics(gold.tolist(), pred.tolist(), loss)


def mistakes(logits: Any, targets: Sequence[Any], labels: Sequence[str],
             texts: Sequence[str]) -> list[dict[str, Any]]:
    """Single-label: every misclassified text, most confident first per class pair
    (``eval.diagnostics.confident_mistakes``)."""
    from lmforge.eval.diagnostics import confident_mistakes
    from lmforge.inference.surface import logits_to_outputs

    index = {label: i for i, label in enumerate(labels)}
    return confident_mistakes(logits_to_outputs(Task.SINGLE, logits),
                              [index[t] for t in targets], labels, texts)


def headline(task: str) -> str:
    """The metric early stopping watches: higher is better for all of these."""
    return {Task.SINGLE: "macro_f1", Task.MULTI: "macro_f1"}.get(task, "loss")
