"""PNG figures for the run directory: confusion matrix and training curves.

Figures are built with ``matplotlib.figure.Figure`` and never through
``pyplot``: pyplot keeps global state (a registry of open figures, the process
backend), so calling it from a library would switch a notebook user's backend
or leak figures in a long-running server. A bare ``Figure`` renders PNG with
the Agg canvas, needs no display and is freed when it goes out of scope.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DPI = 120
MAX_TICK_LABEL = 28  # longer label names are shortened with "…" on the axes


def _save_atomic(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Render to a temp file beside ``path``, then rename: readers never see half a PNG."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png.tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    log.debug("wrote %s", path)
    return path


def _short(label: str, limit: int = MAX_TICK_LABEL) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def save_confusion_matrix_png(matrix: Sequence[Sequence[int]], labels: Sequence[str],
                              path: str | os.PathLike[str],
                              title: str = "Confusion matrix") -> Path:
    """Heatmap of ``matrix`` (rows: true label, columns: predicted).

    Colours are row-normalised (the share of each true class), so a rare class's
    mistakes are as visible as a common one's; each cell shows the count and, when
    non-zero, the row %. The figure grows with the number of classes to stay
    legible (about 30 classes).
    """
    import numpy as np
    from matplotlib.figure import Figure

    counts = np.asarray(matrix, dtype=float)
    k = len(labels)
    if counts.shape != (k, k):
        raise ValueError(f"save_confusion_matrix_png: matrix is {counts.shape}, expected "
                         f"({k}, {k}) for {k} labels")
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)

    names = [_short(str(label)) for label in labels]
    longest = max((len(n) for n in names), default=0)
    cell = 0.62 if k <= 12 else 0.55  # inches per cell: room for two short lines of text
    side = max(4.0, cell * k + 1.5)
    # the tick labels take room outside the cells; bbox_inches="tight" keeps them
    fig = Figure(figsize=(side + 1.2, side))
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, aspect="equal")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="share of the true class")

    rotate = k > 6 or longest > 10
    ax.set_xticks(range(k), labels=names, rotation=45 if rotate else 0,
                  ha="right" if rotate else "center", rotation_mode="anchor")
    ax.set_yticks(range(k), labels=names)
    tick_size = 10 if k <= 12 else 9 if k <= 24 else 8
    ax.tick_params(labelsize=tick_size)
    ax.set_xlabel("predicted", fontsize=11)
    ax.set_ylabel("true", fontsize=11)
    ax.set_title(title, fontsize=12)
    # thin white grid lines between cells
    ax.set_xticks(np.arange(k + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(k + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="minor", length=0)

    font = 9 if k <= 12 else 7 if k <= 24 else 6
    for i in range(k):
        for j in range(k):
            if counts[i, j] == 0:
                ax.text(j, i, "0", ha="center", va="center", fontsize=font, color="0.7")
                continue
            ax.text(j, i, f"{int(counts[i, j])}\n{share[i, j]:.0%}", ha="center",
                    va="center", fontsize=font, linespacing=1.1,
                    color="white" if share[i, j] > 0.55 else "black")
    return _save_atomic(fig, path)


LOSS_KEYS = ("train_loss", "validation_loss")
# the first of these present is drawn on the right-hand axis; the two [0, 1]
# scores share it when both are there
METRIC_KEYS = ("validation_macro_f1", "validation_accuracy", "validation_micro_f1")
FALLBACK_METRIC_KEYS = ("validation_mse",)


def _series(history: Sequence[dict[str, Any]], xs: list[float], key: str) -> list[tuple]:
    return [(x, h[key]) for x, h in zip(xs, history, strict=True) if h.get(key) is not None]


def save_curves_png(history: Sequence[dict[str, Any]], path: str | os.PathLike[str],
                    title: str = "Training curves") -> Path:
    """Losses on the left axis, the validation score(s) on the right, per history entry.

    Entries look like ``{"epoch": 1, "step": 120, "train_loss": .., "validation_loss": ..,
    "validation_macro_f1": ..}``; missing keys are skipped. The x axis is the epoch
    when every entry has one, else the optimizer step, else the entry's position.
    """
    from matplotlib.figure import Figure

    if not history:
        raise ValueError("save_curves_png: history is empty; nothing to plot")
    if all(h.get("epoch") is not None for h in history):
        xs, x_label = [h["epoch"] for h in history], "epoch"
    elif all(h.get("step") is not None for h in history):
        xs, x_label = [h["step"] for h in history], "step"
    else:
        xs, x_label = list(range(1, len(history) + 1)), "evaluation"

    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    handles = []
    for key, style in zip(LOSS_KEYS, ("o-", "s--"), strict=True):
        points = _series(history, xs, key)
        if points:
            handles += ax.plot(*zip(*points, strict=True), style, label=key.replace("_", " "))
    ax.set_xlabel(x_label)
    ax.set_ylabel("loss")
    if x_label != "step" and len(xs) <= 30:
        ax.set_xticks(xs)
    ax.grid(alpha=0.3)

    metrics = [k for k in METRIC_KEYS[:2] if any(h.get(k) is not None for h in history)]
    metrics = metrics or [k for k in (*METRIC_KEYS[2:], *FALLBACK_METRIC_KEYS)
                          if any(h.get(k) is not None for h in history)][:1]
    if metrics:
        right = ax.twinx()
        for key, style in zip(metrics, ("^-", "v:"), strict=False):
            points = _series(history, xs, key)
            handles += right.plot(*zip(*points, strict=True), style, color="tab:green"
                                  if style == "^-" else "tab:olive",
                                  label=key.replace("_", " "))
        right.set_ylabel(" / ".join(k.removeprefix("validation_").replace("_", " ")
                                    for k in metrics) + " (validation)")
    if handles:
        ax.legend(handles=handles, loc="best", fontsize=9)
    ax.set_title(title)
    return _save_atomic(fig, path)
