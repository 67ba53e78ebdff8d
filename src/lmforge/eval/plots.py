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
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DPI = 120
MAX_TICK_LABEL = 28  # longer label names are shortened with "…" on the axes


def _save_atomic(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Render to a temp file beside ``path``, then rename: readers never see half a PNG."""
    path = Path(path)
    # a unique name (not mkstemp: its 0600 mode would stick to the final file)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
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
    """Cut the middle, not the end: names often share a prefix and differ at the end."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "…" + label[len(label) - (limit - 1 - head):]


def tick_names(labels: Sequence[str]) -> list[str]:
    """Axis names for ``labels``: shortened, and numbered when shortening made two equal."""
    names = [_short(str(label)) for label in labels]
    if len(set(names)) < len(names):
        names = [f"{i}: {_short(str(label), MAX_TICK_LABEL - 4)}" for i, label in enumerate(labels)]
    return names


def _percent(share: float) -> str:
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


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

    names = tick_names(labels)
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
            ax.text(j, i, f"{int(counts[i, j])}\n{_percent(share[i, j])}", ha="center",
                    va="center", fontsize=font, linespacing=1.1,
                    color="white" if share[i, j] > 0.55 else "black")
    return _save_atomic(fig, path)


LOSS_KEYS = ("train_loss", "validation_loss")
# Right-hand axis: the [0, 1] scores present (they share one scale); when none
# is there (regression), the validation MSE, which is on the target's own scale.
SCORE_KEYS = ("validation_macro_f1", "validation_accuracy", "validation_micro_f1")
FALLBACK_SCORE_KEYS = ("validation_mse",)
NICE = {"macro_f1": "macro-F1", "micro_f1": "micro-F1", "mse": "MSE"}


def _nice(key: str) -> str:
    split, _, name = key.partition("_")
    return f"{split} {NICE.get(name, name.replace('_', ' '))}"


def _series(history: Sequence[dict[str, Any]], xs: list[Any], key: str) -> list[tuple]:
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

    def present(keys: Sequence[str]) -> list[str]:
        return [k for k in keys if any(h.get(k) is not None for h in history)]

    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    handles = []
    for key, style in zip(LOSS_KEYS, ("o-", "s--"), strict=True):
        if key in present(LOSS_KEYS):
            handles += ax.plot(*zip(*_series(history, xs, key), strict=True), style,
                               label=_nice(key))
    ax.set_xlabel(x_label)
    ax.set_ylabel("loss")
    if x_label != "step" and len(xs) <= 30:
        ax.set_xticks(xs)
    ax.grid(alpha=0.3)

    scores = present(SCORE_KEYS)[:2] or present(FALLBACK_SCORE_KEYS)
    if scores:
        right = ax.twinx()
        for key, style, color in zip(scores, ("^-", "v:"), ("tab:green", "tab:olive"),
                                     strict=False):
            handles += right.plot(*zip(*_series(history, xs, key), strict=True), style,
                                  color=color, label=_nice(key))
        right.set_ylabel(" / ".join(_nice(k) for k in scores))
    if handles:
        # below the plot: inside, it would cover the curves it explains
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14),
                  ncol=min(len(handles), 4), fontsize=9, frameon=False)
    ax.set_title(title)
    return _save_atomic(fig, path)
