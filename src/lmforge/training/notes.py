"""report.md sections for the training method, the ensemble, augmentation and tracking."""

from __future__ import annotations

from typing import Any


def report_sections(metrics: dict[str, Any], log_to: str = "none") -> str:
    """Markdown appended to report.md (empty when there is nothing to say)."""
    from lmforge.augment.eda import augmentation_lines
    from lmforge.training.tracking import HISTORY_FILE

    data = metrics.get("data") or {}
    lines: list[str] = []
    method = data.get("method")
    if method:
        lines += ["", "## Method", "", f"- {method['method']} ({method['reason']})"]
        setfit = (metrics.get("train") or {}).get("setfit")
        if setfit:
            lines.append(f"- SetFit: {setfit['pairs']} sentence pairs ({setfit['positive_pairs']} "
                         f"similar) from {setfit['iterations']} iterations, one pass at lr "
                         f"{setfit['lr']}, final pair loss {setfit['pair_loss']:.4f}; head: "
                         f"{setfit['head']} on the tuned embeddings")
    ensemble = metrics.get("ensemble")
    if ensemble:
        from lmforge.training.ensemble import report_lines

        lines += ["", "## Ensemble", "", *report_lines(ensemble)]
    if data.get("augmentation"):
        lines += ["", "## Augmentation", "", *augmentation_lines(data["augmentation"])]
    where = {"csv": HISTORY_FILE, "tensorboard": "tensorboard/ (`tensorboard --logdir` it)",
             "mlflow": "MLflow (./mlruns unless $MLFLOW_TRACKING_URI is set)"}
    if log_to in where:
        lines += ["", "## Tracking", "", f"- per-step losses and metrics: {where[log_to]}"]
    return "\n".join(lines) + "\n" if lines else ""
