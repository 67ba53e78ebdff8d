"""Loss functions per task, computed outside the model so we control weighting."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from lmforge.data.task import Task
from lmforge.labels import IMBALANCE_RATIO_FOR_AUTO_WEIGHTS


def balanced_class_weights(targets: Sequence[int], n_classes: int) -> list[float]:
    """sklearn's 'balanced' rule: n / (k * count_c); absent classes get weight 1."""
    counts = Counter(targets)
    n = len(targets)
    return [n / (n_classes * counts[c]) if counts[c] else 1.0 for c in range(n_classes)]


def should_weight(mode: str, targets: Sequence[int], n_classes: int) -> bool:
    if mode == "balanced":
        return True
    if mode == "none":
        return False
    counts = [c for c in Counter(targets).values() if c > 0]
    return len(counts) > 1 and max(counts) >= IMBALANCE_RATIO_FOR_AUTO_WEIGHTS * min(counts)


def make_loss(task: str, class_weights: list[float] | None = None) -> Any:
    import torch

    if task == Task.SINGLE:
        weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        ce = torch.nn.CrossEntropyLoss(weight=weight)

        def single(logits: Any, y: Any) -> Any:
            if ce.weight is not None and ce.weight.device != logits.device:
                ce.weight = ce.weight.to(logits.device)
            return ce(logits.float(), y)

        return single
    if task == Task.MULTI:
        bce = torch.nn.BCEWithLogitsLoss()
        return lambda logits, y: bce(logits.float(), y)
    mse = torch.nn.MSELoss()
    return lambda logits, y: mse(logits.float().squeeze(-1), y)
