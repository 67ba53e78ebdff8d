"""The steps every training recipe shares, written once.

``finetune``, ``setfit`` and ``tfidf`` each wire these together for one way of
training: the class weights, the quick checks before training, the TF-IDF
baseline and its verdict, tokenizing the splits, the shape of metrics.json's
``train`` and writing the run directory (config.yaml, metrics.json, report.md,
plots, model card).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.config.base import to_mapping
from lmforge.config.train import TrainConfig
from lmforge.data.task import Task
from lmforge.rundir import write_json, write_text_atomic
from lmforge.training.summary import DataSummary

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What ``lmforge.train`` returns: the run directory, its metrics.json and the config."""

    run_dir: Path
    metrics: dict[str, Any]
    config: TrainConfig


def class_weights(cfg: TrainConfig, task: str, train_targets: Sequence[Any], labels: list[str],
                  summary: DataSummary) -> list[float] | None:
    """Balanced loss weights per class when ``--class-weights`` asks (auto: an imbalanced
    training split), single-label only; recorded in ``summary.class_weights``."""
    from lmforge.training.losses import balanced_class_weights, should_weight

    weights = None
    if task == Task.SINGLE:
        index = {label: i for i, label in enumerate(labels)}
        ids = [index[t] for t in train_targets]
        if should_weight(cfg.class_weights, ids, len(labels)):
            weights = balanced_class_weights(ids, len(labels))
            log.info("class weights (balanced): %s",
                     ", ".join(f"{lab} {w:.2f}" for lab, w in zip(labels, weights, strict=True)))
    summary.class_weights = dict(zip(labels, weights, strict=True)) if weights else None
    return weights


def warn_before_training(summary: DataSummary, train_part: Any, labels: list[str],
                         task: str) -> None:
    """The quick checks of ``lmforge inspect`` on numbers already in ``summary`` (plus the
    class counts): logged as warnings, kept in metrics.json."""
    from lmforge.inspect.checks import class_counts, train_warnings

    if task != Task.REGRESSION:
        summary.class_counts = class_counts(task, train_part.targets, labels)
    summary.warnings = train_warnings(summary.as_dict(), len(train_part), task)
    for message in summary.warnings:
        log.warning("%s", message)


def fit_baseline(cfg: TrainConfig, parts: dict[str, Any], labels: list[str],
                 class_weight: str | None) -> tuple[dict[str, Any] | None, Any]:
    """The TF-IDF baseline's metrics (seconds on a CPU) and the fitted ``TfidfModel`` (for
    ``--ensemble``); (None, None) when turned off, ({"skipped": why}, None) when it failed."""
    if not cfg.baseline:
        return None, None
    from lmforge.baseline.run import fit_baseline as fit_tfidf_baseline
    from lmforge.errors import ModelError

    try:
        model, baseline = fit_tfidf_baseline(cfg.task, parts, labels, class_weight)
    except ModelError as exc:  # e.g. texts of emoji only: no n-grams; the transformer may cope
        log.warning("no TF-IDF baseline: %s", exc)
        return {"skipped": str(exc)}, None
    test = baseline.get("test", {})
    shown = ", ".join(f"{k} {test[k]:.4f}" for k in ("accuracy", "macro_f1", "micro_f1", "r2")
                      if isinstance(test.get(k), float))
    log.info("baseline (%s, %.1f s): test %s", baseline["model"], baseline["seconds"],
             shown or "not scored")
    return baseline, model


def add_baseline(metrics: dict[str, Any], baseline: dict[str, Any] | None, ensemble: Any,
                 seconds: float | None) -> None:
    """metrics.json's ``baseline``, with the "is the model worth its cost" verdict on the
    test split (of the final model: ``ensemble`` says whether that is a blend)."""
    if baseline is None:
        return
    if "test" in metrics and "test" in baseline:
        baseline["verdict"] = ensemble.verdict(metrics["test"], baseline, seconds)
        log.info("%s", baseline["verdict"]["sentence"])
    metrics["baseline"] = baseline


def train_metrics(*, seconds: float, samples_seen: int, examples: int, epochs: int,
                  best_epoch: int | None, stopped_early: bool, steps: int,
                  history: list[dict[str, Any]], method: str | None = None,
                  details: dict[str, Any] | None = None,
                  step_losses: list[float] | None = None) -> dict[str, Any]:
    """metrics.json's ``train`` of a transformer run (fine-tune or SetFit); ``details``:
    a recipe's own entries, placed before the history; ``step_losses``: the training loss
    of each optimizer step (always recorded, for the per-step curve)."""
    out: dict[str, Any] = {"method": method} if method else {}
    out |= {
        "seconds": seconds,
        "samples_per_second": samples_seen / seconds if seconds else None,
        "samples_seen": samples_seen,
        "examples": examples,
        "epochs": epochs,
        "best_epoch": best_epoch,
        "stopped_early": stopped_early,
        "steps": steps,
    }
    out |= details or {}
    out["history"] = history
    if step_losses is not None:
        out["step_losses"] = step_losses
    return out


def encode_parts(cfg: TrainConfig, model_dir: Path, parts: dict[str, Any],
                 summary: DataSummary) -> tuple[Any, int, dict[str, Any]]:
    """The model's tokenizer, its pad id, and every split's token ids (max length and
    truncation applied); records and logs how many texts were shortened and how many are
    mostly unknown tokens."""
    import torch

    from lmforge.data.tokenize import encode_texts, unknown_token_report, window_spec_from
    from lmforge.models.build import load_tokenizer

    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    tokenizer = load_tokenizer(model_dir)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    windows = window_spec_from(cfg)
    encoded = {name: encode_texts(tokenizer, part.texts, cfg.max_length, cfg.truncation, windows)
               for name, part in parts.items()}
    summary.max_length = cfg.max_length
    summary.truncation = cfg.truncation if windows is None else "window"
    if cfg.pair:  # data.tokenize.encode_pairs: the tokenizer's pair truncation
        summary.truncation = "longest_first, sentence pairs"
    summary.over_max_length = {k: v.n_truncated for k, v in encoded.items()}
    if windows is not None:
        summary.windows = {
            "stride": windows.stride, "max_windows": windows.max_windows,
            "train_windows": cfg.train_windows,
            "per_text": {k: round(len(v.input_ids) / max(1, v.n_texts), 3)
                         for k, v in encoded.items()},
            "capped": {k: v.n_capped for k, v in encoded.items()},
        }
        for name, enc in encoded.items():
            log.info("%s: %d texts read as %d windows of up to %d tokens (%d over the limit, "
                     "%d over %d windows: middle windows skipped)", name, enc.n_texts,
                     len(enc.input_ids), cfg.max_length, enc.n_truncated, enc.n_capped,
                     windows.max_windows)
    for name, enc in encoded.items():
        if enc.n_truncated and windows is None:
            log.info("%s: %d of %d texts are longer than %d tokens (longest %d); shortened "
                     "with %s", name, enc.n_truncated, len(enc.input_ids), cfg.max_length,
                     enc.longest, summary.truncation)
    summary.mostly_unknown_tokens = unknown_token_report(tokenizer, encoded["train"])
    return tokenizer, pad_id, encoded


def write_config(tmp: Path, cfg: TrainConfig) -> dict[str, Any]:
    """config.yaml: the resolved config, re-runnable with ``lmforge train --config``."""
    from lmforge.rundir import write_config as write_config_file

    config = to_mapping(cfg)
    config["out"] = str(Path(cfg.out))
    config["overwrite"] = False
    write_config_file(tmp, config, "lmforge train --config this-file reproduces the run")
    return config


def add_model_warnings(metrics: dict[str, Any]) -> None:
    """metrics.json's ``warnings``: what the scores say is wrong with the model (one class
    predicted for almost everything), logged like the data warnings; report.md shows both."""
    from lmforge.eval.diagnostics import model_warnings

    metrics["warnings"] = model_warnings(metrics)
    for message in metrics["warnings"]:
        log.warning("%s", message)


def test_mistakes(task: str, labels: list[str], test_part: Any,
                  test_logits: Any) -> list[dict[str, Any]] | None:
    """Single-label: every misclassified test text (``scoring.mistakes``); None otherwise."""
    from lmforge.scoring import mistakes

    if task != Task.SINGLE or test_logits is None or test_part is None or not len(test_part):
        return None
    return mistakes(test_logits, test_part.targets, labels, test_part.texts)


def write_run(tmp: Path, cfg: TrainConfig, model: Any, tokenizer: Any, metrics: dict[str, Any],
              task: str, labels: list[str], kind: str, test_part: Any = None,
              test_logits: Any = None) -> None:
    """Everything of a transformer run but its extras: model/ (weights and tokenizer),
    run.json (``kind``, see ``rundir.RUN_KINDS``), config.yaml, metrics.json, the plots,
    report.md and README.md (the model card). With the test split and the final model's
    logits on it: mistakes.csv and the reliability diagram too."""
    import shutil

    from lmforge.eval.details import write_test_details
    from lmforge.eval.plots import save_confusion_matrix_png, save_curves_png
    from lmforge.eval.report import render_model_card, render_report_md
    from lmforge.rundir import write_manifest
    from lmforge.training.notes import report_sections

    model.save_pretrained(str(tmp / "model"))
    tokenizer.save_pretrained(str(tmp / "model"))
    write_manifest(tmp, kind)
    config = write_config(tmp, cfg)
    add_model_warnings(metrics)
    write_json(tmp / "metrics.json", metrics)
    confusion = None
    if task == Task.SINGLE and "test" in metrics:
        confusion = "confusion_matrix.png"
        save_confusion_matrix_png(metrics["test"]["confusion_matrix"], labels, tmp / confusion,
                                  title=f"Confusion matrix (test, n={metrics['test']['n']})")
    if metrics["train"]["history"]:
        save_curves_png(metrics["train"]["history"], tmp / "training_curves.png",
                        title="Training", step_losses=metrics["train"].get("step_losses"))
    mistakes = test_mistakes(task, labels, test_part, test_logits)
    details = write_test_details(tmp, metrics, mistakes,
                                 test_part.rows if test_part is not None else ())
    write_text_atomic(tmp / "report.md", render_report_md(
        metrics, task, data_summary=metrics["data"], train_summary=metrics["train"],
        confusion_png=confusion, mistakes=mistakes, details=details)
        + report_sections(metrics, cfg.log_to))
    write_text_atomic(tmp / "README.md", render_model_card(
        model_name=Path(cfg.out).name, base_model=cfg.model, task=task, labels=labels,
        metrics=metrics, config=config, usage_dir=str(cfg.out)))
    if not cfg.keep_checkpoints:
        shutil.rmtree(tmp / "checkpoints", ignore_errors=True)
