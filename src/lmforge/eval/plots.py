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


# Validation scores in [0, 1] share one axis drawn over the whole [0, 1]; when none is
# there (regression), the validation MSE, from 0.
SCORE_KEYS = ("validation_macro_f1", "validation_accuracy", "validation_micro_f1")
FALLBACK_SCORE_KEYS = ("validation_mse",)
NICE = {"macro_f1": "macro-F1", "micro_f1": "micro-F1", "mse": "MSE"}
MIN_CURVE_POINTS = 2  # fewer epochs than this: the numbers are written, not drawn


def _nice(key: str) -> str:
    split, _, name = key.partition("_")
    return f"{split} {NICE.get(name, name.replace('_', ' '))}"


def curve_panels(history: Sequence[dict[str, Any]],
                 step_losses: Sequence[float] | None = None) -> dict[str, Any]:
    """What ``save_curves_png`` draws, as plain data (tested without reading pixels).

    ``{"x_label", "epochs", "loss": {"series": [(name, xs, ys, style)], "note"},
    "scores": {"series": [...], "ylim": (low, high), "label", "note"}}``. The loss panel has
    the per-step training loss (when recorded), the epoch-mean training loss and the
    validation loss, against the optimizer step when the history has steps. The scores
    panel has the validation scores on their own axis, over [0, 1] (MSE: from 0). With
    fewer than ``MIN_CURVE_POINTS`` epochs an epoch series is not drawn: ``note`` says how
    many epochs there were and gives the numbers.
    """
    if not history:
        raise ValueError("save_curves_png: history is empty; nothing to plot")
    by_step = all(h.get("step") is not None for h in history)
    if by_step:
        xs, x_label = [h["step"] for h in history], "optimizer step"
    elif all(h.get("epoch") is not None for h in history):
        xs, x_label = [h["epoch"] for h in history], "epoch"
    else:
        xs, x_label = list(range(1, len(history) + 1)), "evaluation"
    epochs = len(history)
    few = epochs < MIN_CURVE_POINTS
    when = f"{epochs} epoch" + ("s" if epochs != 1 else "")

    # an epoch's mean training loss is over all its steps: drawn at the epoch's middle step;
    # validation is measured at its end
    mids = ([(before + 1 + x) / 2 for before, x in zip([0, *xs[:-1]], xs, strict=True)]
            if by_step else xs)

    def series(key: str, style: str) -> tuple[str, list[Any], list[float], str] | None:
        at = mids if key == "train_loss" else xs
        points = [(x, h[key]) for x, h in zip(at, history, strict=True) if h.get(key) is not None]
        if len(points) < MIN_CURVE_POINTS:
            return None
        return (_nice(key).replace("train loss", "train loss (epoch mean, mid-epoch)"),
                [p[0] for p in points], [p[1] for p in points], style)

    def written(keys: Sequence[str]) -> str:
        last = history[-1]
        shown = [f"{_nice(k).replace('train loss', 'mean train loss')} {last[k]:.4f}"
                 for k in keys if last.get(k) is not None]
        return f"{when}, no curve to draw" + (": " + ", ".join(shown) if shown else "")

    loss_series = []
    if step_losses and by_step:
        loss_series.append(("train loss (per step)", list(range(1, len(step_losses) + 1)),
                            [float(v) for v in step_losses], "-"))
    for key, style in (("train_loss", "o-"), ("validation_loss", "s--")):
        found = series(key, style)
        if found:
            loss_series.append(found)
    loss_note = written(("train_loss", "validation_loss")) if few else None

    present = [k for k in SCORE_KEYS if any(h.get(k) is not None for h in history)][:2]
    ylim: tuple[float, float] | None = (0.0, 1.0)
    if not present:
        present = [k for k in FALLBACK_SCORE_KEYS if any(h.get(k) is not None for h in history)]
        values = [h[k] for k in present for h in history if h.get(k) is not None]
        ylim = (0.0, 1.1 * max(values)) if values and max(values) > 0 else None
    score_series = [found for key, style in zip(present, ("^-", "v:"), strict=False)
                    if (found := series(key, style))]
    score_note = written(present) if few and present else None
    return {"x_label": x_label, "epochs": epochs,
            "loss": {"series": loss_series, "note": loss_note},
            "scores": {"series": score_series, "ylim": ylim if present else None,
                       "label": " / ".join(_nice(k) for k in present), "note": score_note}}


def save_curves_png(history: Sequence[dict[str, Any]], path: str | os.PathLike[str],
                    title: str = "Training curves",
                    step_losses: Sequence[float] | None = None) -> Path:
    """Two panels side by side: the losses (per-step and epoch-mean training loss,
    validation loss) and, on an axis of their own with its whole range, the validation
    scores. See ``curve_panels`` for what is drawn; entries look like ``{"epoch": 1,
    "step": 120, "train_loss": .., "validation_loss": .., "validation_macro_f1": ..}``."""
    from matplotlib.figure import Figure

    panels = curve_panels(history, step_losses)
    has_scores = bool(panels["scores"]["label"])
    fig = Figure(figsize=(11.0 if has_scores else 6.5, 4.2))
    axes = fig.subplots(1, 2 if has_scores else 1, squeeze=False)[0]
    colors = {"train loss (per step)": "0.65"}
    for ax, key, y_label in ((axes[0], "loss", "loss"),
                             *(((axes[1], "scores", panels["scores"]["label"]),)
                               if has_scores else ())):
        panel = panels[key]
        for name, xs, ys, style in panel["series"]:
            ax.plot(xs, ys, style, label=name, color=colors.get(name),
                    linewidth=0.8 if name in colors else 1.5, markersize=5)
        if panel.get("ylim"):
            ax.set_ylim(*panel["ylim"])
        if panel["note"]:
            # beside the curves when some are drawn (per-step loss), else in the middle
            corner = bool(panel["series"])
            ax.text(0.97 if corner else 0.5, 0.97 if corner else 0.5,
                    panel["note"].replace(": ", ":\n", 1).replace(", ", "\n"),
                    transform=ax.transAxes, ha="right" if corner else "center",
                    va="top" if corner else "center", fontsize=10,
                    bbox={"boxstyle": "round", "facecolor": "#fff8c5", "edgecolor": "0.8"})
        if not panel["series"]:
            ax.set_xticks([])
        ax.set_xlabel(panels["x_label"])
        ax.set_ylabel(y_label)
        ax.grid(alpha=0.3)
        if panel["series"]:
            ax.legend(loc="lower left" if panel["note"] else "best", fontsize=8, frameon=False)
    axes[0].set_title("Loss")
    if has_scores:
        axes[1].set_title("Validation")
    fig.suptitle(f"{title} ({panels['epochs']} epoch{'s' if panels['epochs'] != 1 else ''})")
    return _save_atomic(fig, path)


def save_reliability_png(calibration: dict[str, Any], path: str | os.PathLike[str],
                         title: str = "Reliability diagram") -> Path:
    """Accuracy against confidence per bin (``eval.diagnostics.calibration``), the diagonal
    of a perfectly calibrated model, the texts per bin below, and the ECE in the title."""
    from matplotlib.figure import Figure

    bins = calibration["bins"]
    fig = Figure(figsize=(5.2, 5.6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = bins[0]["high"] - bins[0]["low"] if bins else 0.1
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    filled = [(c, b) for c, b in zip(centres, bins, strict=True) if b["n"]]
    top.plot([0, 1], [0, 1], "--", color="0.5", linewidth=1, label="perfectly calibrated")
    top.bar([c for c, _ in filled], [b["accuracy"] for _, b in filled], width=width * 0.9,
            color="tab:blue", alpha=0.8, label="accuracy")
    top.plot([b["confidence"] for _, b in filled], [b["accuracy"] for _, b in filled], "o",
             color="tab:red", markersize=4, label="accuracy at the bin's mean confidence")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.legend(loc="upper left", fontsize=8, frameon=False)
    top.set_title(f"{title}: ECE {calibration['ece']:.3f}")
    bottom.bar(centres, [b["n"] for b in bins], width=width * 0.9, color="0.6")
    bottom.set_xlabel("confidence (probability of the predicted class)")
    bottom.set_ylabel("texts")
    return _save_atomic(fig, path)
