"""PNG figures for reports (matplotlib, Agg backend, atomic writes)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)


def save_confusion_matrix_png(matrix: Sequence[Sequence[int]], labels: Sequence[str],
                              path: str | os.PathLike[str], title: str = "Confusion matrix") -> None:
    """Row-normalised colours, counts and row % in each cell."""
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(matrix, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    k = len(labels)
    size = max(4.5, 0.55 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(k), labels=list(labels), rotation=45 if k > 4 or max(map(len, labels)) > 8
                  else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), labels=list(labels))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    font = 9 if k <= 10 else 7 if k <= 20 else 5
    for i in range(k):
        for j in range(k):
            text = f"{int(counts[i, j])}" + (f"\n{share[i, j]:.0%}" if k <= 12 else "")
            ax.text(j, i, text, ha="center", va="center", fontsize=font,
                    color="white" if share[i, j] > 0.5 else "black")
    _save(fig, path)
    plt.close(fig)


def save_curves_png(history: Sequence[dict[str, Any]], path: str | os.PathLike[str],
                    title: str = "Training") -> None:
    """Losses per epoch on the left axis, validation metric on the right."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    x = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    for key, style in (("train_loss", "o-"), ("validation_loss", "s--")):
        points = [(xi, h[key]) for xi, h in zip(x, history, strict=True) if h.get(key) is not None]
        if points:
            ax.plot(*zip(*points, strict=True), style, label=key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_xticks(x)
    metric = next((k for k in ("validation_macro_f1", "validation_accuracy")
                   if any(h.get(k) is not None for h in history)), None)
    if metric:
        ax2 = ax.twinx()
        points = [(xi, h[metric]) for xi, h in zip(x, history, strict=True)
                  if h.get(metric) is not None]
        ax2.plot(*zip(*points, strict=True), "^-", color="tab:green",
                 label=metric.replace("_", " "))
        ax2.set_ylabel(metric.replace("validation_", "validation ").replace("_", "-"))
        ax2.legend(loc="upper right")
    ax.legend(loc="upper left")
    ax.set_title(title)
    _save(fig, path)
    plt.close(fig)
