"""Label vocabularies and target tensors: the user's strings in, the same out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lmforge.data.task import Task
from lmforge.errors import DataError

# classes are "imbalanced" when the largest has this many times the examples of the smallest:
# train's --class-weights auto weighs them, inspect warns
IMBALANCE_RATIO_FOR_AUTO_WEIGHTS = 3.0


def label_order(values: Iterable[str]) -> list[str]:
    """Sorted label names; numeric names sort as numbers ('2' before '10')."""
    unique = set(values)

    def key(label: str) -> tuple[int, float, str]:
        try:
            return (0, float(label), label)
        except ValueError:
            return (1, 0.0, label)

    return sorted(unique, key=key)


def labels_of(task: str, targets: Sequence[Any]) -> list[str]:
    if task == Task.SINGLE:
        return label_order(targets)
    if task == Task.MULTI:
        return label_order(name for row in targets for name in row)
    return []


def check_known(task: str, targets: Sequence[Any], known: Sequence[str], source: str) -> None:
    """Evaluation data may not carry labels the model was never trained on."""
    if task == Task.REGRESSION:
        return
    names = targets if task == Task.SINGLE else [n for row in targets for n in row]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise DataError(
            f"{source}: label(s) {', '.join(repr(u) for u in unknown[:10])} are not among the "
            f"model's labels ({', '.join(known)}). Evaluate on data labelled with the same classes, "
            "or retrain with them."
        )


def target_tensor(task: str, targets: Sequence[Any], labels: Sequence[str],
                  mean: float = 0.0, std: float = 1.0) -> Any:
    import torch

    if task == Task.SINGLE:
        index = {label: i for i, label in enumerate(labels)}
        return torch.tensor([index[t] for t in targets], dtype=torch.long)
    if task == Task.MULTI:
        index = {label: i for i, label in enumerate(labels)}
        out = torch.zeros((len(targets), len(labels)), dtype=torch.float32)
        for row, names in enumerate(targets):
            for name in names:
                out[row, index[name]] = 1.0
        return out
    return (torch.tensor([float(t) for t in targets], dtype=torch.float32) - mean) / std
