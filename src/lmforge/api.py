"""Library entry points. The CLI and the HTTP service call these; nothing here
parses arguments or prints."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.config.base import from_mapping, to_mapping
from lmforge.config.train import TrainConfig
from lmforge.errors import DataError
from lmforge.inference.rows import prediction_rows
from lmforge.runs.layout import atomic_run_dir, refuse_existing, write_json, write_text_atomic

log = logging.getLogger(__name__)

MOSTLY_UNKNOWN = 0.5  # a text is "mostly unknown" when over half its tokens are [UNK]


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    config: TrainConfig


def resolve_train_config(config: TrainConfig | None = None, **overrides: Any) -> TrainConfig:
    base = to_mapping(config) if config is not None else {}
    base.update(overrides)
    cfg = from_mapping(TrainConfig, base, source="train config")
    cfg.validate()
    return cfg


def train(config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Train a text classifier and write its run directory.

    ``lmforge.train(data="reviews.csv", out="runs/reviews", epochs=2)``; keyword
    arguments are TrainConfig fields and override ``config``.
    """
    cfg = resolve_train_config(config, **overrides)
    out = Path(cfg.out)
    refuse_existing(out, cfg.overwrite)  # fail before minutes of work, not after

    from lmforge.data import load_examples, load_with_schema
    from lmforge.data.clean import check_trainable
    from lmforge.data.split import find_leakage, split_stratified
    from lmforge.models.registry import model_record, resolve_default_encoder, resolve_model_dir

    tfidf = cfg.model.lower() == "tfidf"
    auto = cfg.model.lower() == "default"  # which encoder depends on the data: chosen below
    model_dir = None if tfidf or auto else resolve_model_dir(cfg.model)
    loaded = load_examples(cfg.data, text_col=cfg.text_col, label_col=cfg.label_col,
                           task=cfg.task, label_sep=cfg.label_sep)
    task = loaded.task.task
    check_trainable(loaded.examples, cfg.data)
    model, model_reason = cfg.model, "given with --model"
    if auto:
        entry, model_reason, model_dir = resolve_default_encoder(loaded.examples.texts)
        model = entry.name
    label_col = ",".join(loaded.columns.labels)
    resolved = dataclasses.replace(  # config.yaml names the model used, so the run reproduces
        cfg, model=model, data=str(Path(cfg.data).resolve()), text_col=loaded.columns.text,
        label_col=label_col, task=task, validation=_abs(cfg.validation), test=_abs(cfg.test),
    )

    held_out = {}
    for name in ("validation", "test"):
        path = getattr(cfg, name)
        if path:
            other = load_with_schema(path, loaded.columns, task, cfg.label_sep)
            held_out[name] = other.examples
    splits = split_stratified(
        loaded.examples,
        validation_fraction=0.0 if "validation" in held_out else cfg.validation_fraction,
        test_fraction=0.0 if "test" in held_out else cfg.test_fraction,
        seed=cfg.seed, path=cfg.data,
    )
    parts = {"train": splits.train,
             "validation": held_out.get("validation", splits.validation),
             "test": held_out.get("test", splits.test)}
    leakage = find_leakage(parts)
    for pair, count in leakage.items():
        log.warning("leakage: %d identical texts appear in both %s; scores on the held-out "
                    "split will be optimistic. Remove them from one side.", count, pair)
    if cfg.max_train_samples and len(parts["train"]) > cfg.max_train_samples:
        parts["train"] = stratified_subset(parts["train"], cfg.max_train_samples, cfg.seed)
    if cfg.max_eval_samples:
        for name in ("validation", "test"):
            if len(parts[name]) > cfg.max_eval_samples:
                parts[name] = stratified_subset(parts[name], cfg.max_eval_samples, cfg.seed)
    for name, part in parts.items():
        log.info("%s: %d examples", name, len(part))

    from lmforge.labels import labels_of

    labels = labels_of(task, parts["train"].targets)
    if task != "regression":
        from lmforge.labels import check_known

        for name in ("validation", "test"):
            check_known(task, parts[name].targets, labels, f"{name} split")

    data_summary = {
        "source": str(cfg.data), "encoding": loaded.encoding, "columns": loaded.columns.reason,
        "task": loaded.task.reason, "cleaning": loaded.clean.as_dict(),
        "splits": {k: len(v) for k, v in parts.items()},
        "split_from": "separate files" if held_out else f"{cfg.data} (stratified, seed {cfg.seed})",
        "leakage": leakage,
    }
    if model_dir is not None:
        data_summary["model"] = model_record(model, model_dir, model_reason)
    method = "tfidf" if model_dir is None else _choose_method(resolved, parts["train"], labels,
                                                              data_summary)
    if cfg.augment:  # the training split only: validation and test stay real text
        from lmforge.augment.eda import augment_training_split

        parts["train"] = augment_training_split(resolved, parts["train"], model_dir, data_summary)
    if model_dir is None:
        return _train_tfidf(resolved, parts, labels, data_summary)
    if method == "setfit":
        from lmforge.training.setfit import train_setfit_run

        return train_setfit_run(resolved, model_dir, parts, labels, data_summary)
    return _train_on(resolved, model_dir, parts, labels, data_summary)


def _choose_method(cfg: TrainConfig, train_part: Any, labels: list[str],
                   data_summary: dict[str, Any]) -> str:
    from lmforge.training.setfit import choose_method

    method, reason = choose_method(cfg.method, cfg.task, train_part.targets, len(labels))
    log.info("method: %s (%s)", method, reason)
    data_summary["method"] = {"method": method, "reason": reason}
    return method


def _abs(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path else None


def stratified_subset(examples: Any, n: int, seed: int) -> Any:
    """A random subset of ``n`` examples keeping the class proportions."""
    rng = random.Random(seed)
    if examples.task != "single":
        return examples.subset(sorted(rng.sample(range(len(examples)), n)))
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(examples.targets):
        by_class[label].append(i)
    chosen: list[int] = []
    for _label, idx in sorted(by_class.items()):
        take = max(1, round(n * len(idx) / len(examples)))
        chosen.extend(rng.sample(idx, min(take, len(idx))))
    return examples.subset(sorted(chosen[: max(n, len(by_class))]))


def encode_parts(cfg: TrainConfig, model_dir: Path, parts: dict[str, Any],
                 data_summary: dict[str, Any]) -> tuple[Any, int, dict[str, Any]]:
    """The model's tokenizer, its pad id, and every split's token ids (max length and
    truncation applied); records and logs how many texts were shortened and how many are
    mostly unknown tokens. Shared by fine-tuning and SetFit."""
    import torch

    from lmforge.data.tokenize import encode_texts, window_spec_from
    from lmforge.models.build import load_tokenizer

    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    tokenizer = load_tokenizer(model_dir)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    windows = window_spec_from(cfg)
    encoded = {name: encode_texts(tokenizer, part.texts, cfg.max_length, cfg.truncation, windows)
               for name, part in parts.items()}
    data_summary["max_length"] = cfg.max_length
    data_summary["truncation"] = cfg.truncation if windows is None else "window"
    data_summary["over_max_length"] = {k: v.n_truncated for k, v in encoded.items()}
    if windows is not None:
        data_summary["windows"] = {
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
                     enc.longest, cfg.truncation)
    data_summary["mostly_unknown_tokens"] = unknown_token_report(tokenizer, encoded["train"])
    return tokenizer, pad_id, encoded


def _train_on(cfg: TrainConfig, model_dir: Path, parts: dict[str, Any], labels: list[str],
              data_summary: dict[str, Any]) -> TrainResult:
    import numpy as np
    from accelerate.utils import set_seed

    from lmforge.labels import target_tensor
    from lmforge.models.build import build_classifier
    from lmforge.scoring import headline, score_outputs
    from lmforge.training.loop import LoopSettings, fit, streaming_loss
    from lmforge.training.losses import balanced_class_weights, make_loss, should_weight

    task = cfg.task
    tokenizer, pad_id, encoded = encode_parts(cfg, model_dir, parts, data_summary)

    mean, std = 0.0, 1.0
    if task == "regression":
        values = np.array(parts["train"].targets, dtype=float)
        mean, std = float(values.mean()), float(values.std() or 1.0)
    targets = {name: target_tensor(task, part.targets, labels, mean, std)
               for name, part in parts.items()}

    class_weights = None
    if task == "single":
        ids = targets["train"].tolist()
        if should_weight(cfg.class_weights, ids, len(labels)):
            class_weights = balanced_class_weights(ids, len(labels))
            log.info("class weights (balanced): %s",
                     ", ".join(f"{lab} {w:.2f}" for lab, w in zip(labels, class_weights, strict=True)))
    data_summary["class_weights"] = (
        dict(zip(labels, class_weights, strict=True)) if class_weights else None
    )
    warn_before_training(data_summary, parts["train"], labels, task)
    baseline, baseline_model = _fit_baseline(cfg, parts, labels,
                                             "balanced" if class_weights else None)

    set_seed(cfg.seed)  # the new head's initialisation depends on it
    model = build_classifier(model_dir, task, labels, cfg.dropout)
    train_loss = make_loss(task, class_weights)
    eval_loss = make_loss(task)
    key = headline(task)
    has_validation = len(parts["validation"]) > 0

    def validate(m: Any) -> tuple[float, dict[str, Any]]:
        val = encoded["validation"]
        logits, _ = streaming_loss(m, val.input_ids, targets["validation"], eval_loss, pad_id,
                                   cfg.eval_batch_size, val.owner, val.n_texts)
        metrics = score_outputs(task, logits, parts["validation"].targets, labels, (mean, std))
        summary = {k: metrics[k] for k in ("loss", "accuracy", "macro_f1", "mse") if k in metrics}
        score = metrics[key] if key != "loss" else -metrics["loss"]
        return score, summary

    settings = LoopSettings(
        epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
        eval_batch_size=cfg.eval_batch_size, weight_decay=cfg.weight_decay,
        warmup_ratio=cfg.warmup_ratio, max_grad_norm=cfg.max_grad_norm, grad_accum=cfg.grad_accum,
        early_stopping_patience=cfg.early_stopping_patience, seed=cfg.seed,
        show_progress=cfg.show_progress, train_windows=cfg.train_windows,
    )
    out = Path(cfg.out)
    from lmforge.training.tracking import tracking

    with atomic_run_dir(out, cfg.overwrite) as tmp, \
            tracking(cfg.log_to, tmp, out.name, to_mapping(cfg)) as settings.tracker:
        fitted = fit(model, encoded["train"].input_ids, targets["train"], train_loss, settings,
                     pad_id, validate if has_validation else None, tmp / "checkpoints",
                     encoded["train"].rows_per_text() if encoded["train"].owner else None)
        if task == "regression":
            fold_target_scale(model, mean, std)
        model.eval()
        metrics: dict[str, Any] = {}
        split_logits: dict[str, Any] = {}
        for name in ("test", "validation"):
            if len(parts[name]):
                enc = encoded[name]
                logits, _ = streaming_loss(model, enc.input_ids,
                                           target_tensor(task, parts[name].targets, labels),
                                           eval_loss, pad_id, cfg.eval_batch_size,
                                           enc.owner, enc.n_texts)
                metrics[name] = score_outputs(task, logits, parts[name].targets, labels)
                split_logits[name] = logits
        # --ensemble: chosen on validation; "test"/"validation" become the final model's
        from lmforge.training.ensemble import decide_ensemble, write_ensemble_parts

        ensemble = decide_ensemble(cfg.ensemble, task, labels, parts, split_logits,
                                   baseline_model, baseline)
        ensemble.apply(metrics)
        if settings.tracker is not None and "test" in metrics:
            settings.tracker.log_final("test", metrics["test"], fitted.steps, fitted.epochs_run)
        metrics["train"] = {
            "seconds": fitted.seconds,
            "samples_per_second": fitted.samples_seen / fitted.seconds if fitted.seconds else None,
            "samples_seen": fitted.samples_seen,
            "examples": len(parts["train"]),
            "epochs": fitted.epochs_run,
            "best_epoch": fitted.best_epoch,
            "stopped_early": fitted.stopped_early,
            "steps": fitted.steps,
            "history": fitted.history,
        }
        metrics["data"] = data_summary
        if baseline is not None:
            if "test" in metrics and "test" in baseline:
                baseline["verdict"] = ensemble.verdict(metrics["test"], baseline, fitted.seconds)
                log.info("%s", baseline["verdict"]["sentence"])
            metrics["baseline"] = baseline
        write_run(tmp, cfg, model, tokenizer, metrics, task, labels, model_dir)
        write_ensemble_parts(tmp, ensemble, str(cfg.out))
    log.info("wrote %s", out)
    return TrainResult(run_dir=out, metrics=metrics, config=cfg)


def warn_before_training(data_summary: dict[str, Any], train_part: Any, labels: list[str],
                         task: str) -> None:
    """The quick checks of ``lmforge inspect`` on numbers already in ``data_summary``
    (plus the class counts): logged as warnings, kept in metrics.json."""
    from lmforge.inspect.checks import class_counts, train_warnings

    if task != "regression":
        data_summary["class_counts"] = class_counts(task, train_part.targets, labels)
    data_summary["warnings"] = train_warnings(data_summary, len(train_part), task)
    for message in data_summary["warnings"]:
        log.warning("%s", message)


def _fit_baseline(cfg: TrainConfig, parts: dict[str, Any], labels: list[str],
                  class_weight: str | None) -> tuple[dict[str, Any] | None, Any]:
    """The TF-IDF baseline's metrics (seconds on a CPU) and the fitted ``TfidfModel`` (for
    ``--ensemble``); (None, None) when turned off, ({"skipped": why}, None) when it failed."""
    if not cfg.baseline:
        return None, None
    from lmforge.baseline.run import fit_baseline
    from lmforge.errors import ModelError

    try:
        model, baseline = fit_baseline(cfg.task, parts, labels, class_weight)
    except ModelError as exc:  # e.g. texts of emoji only: no n-grams; the transformer may cope
        log.warning("no TF-IDF baseline: %s", exc)
        return {"skipped": str(exc)}, None
    test = baseline.get("test", {})
    shown = ", ".join(f"{k} {test[k]:.4f}" for k in ("accuracy", "macro_f1", "micro_f1", "r2")
                      if isinstance(test.get(k), float))
    log.info("baseline (%s, %.1f s): test %s", baseline["model"], baseline["seconds"],
             shown or "not scored")
    return baseline, model


def _train_tfidf(cfg: TrainConfig, parts: dict[str, Any], labels: list[str],
                 data_summary: dict[str, Any]) -> TrainResult:
    """``--model tfidf``: the baseline alone, written as a run directory of its own."""
    from lmforge.baseline.run import fit_baseline, tfidf_metrics, write_tfidf_artifacts
    from lmforge.training.losses import balanced_class_weights, should_weight

    task = cfg.task
    class_weights = None
    if task == "single":
        index = {label: i for i, label in enumerate(labels)}
        ids = [index[t] for t in parts["train"].targets]
        if should_weight(cfg.class_weights, ids, len(labels)):
            class_weights = balanced_class_weights(ids, len(labels))
    data_summary["class_weights"] = (
        dict(zip(labels, class_weights, strict=True)) if class_weights else None
    )
    warn_before_training(data_summary, parts["train"], labels, task)
    out = Path(cfg.out)
    with atomic_run_dir(out, cfg.overwrite) as tmp:
        model, summary = fit_baseline(task, parts, labels, "balanced" if class_weights else None)
        metrics = tfidf_metrics(summary, data_summary)
        config = write_config(tmp, cfg)
        write_tfidf_artifacts(tmp, model, metrics, config, out)
    log.info("wrote %s", out)
    return TrainResult(run_dir=out, metrics=metrics, config=cfg)


def unknown_token_report(tokenizer: Any, encoded: Any) -> dict[str, Any]:
    unk_id = tokenizer.unk_token_id
    special = set(tokenizer.all_special_ids) - {unk_id}
    if unk_id is None:
        return {"texts": 0, "share_of_tokens": 0.0, "threshold": MOSTLY_UNKNOWN}
    mostly, unk_tokens, total = 0, 0, 0
    for ids in encoded.input_ids:
        content = [t for t in ids if t not in special]
        n_unk = sum(1 for t in content if t == unk_id)
        unk_tokens += n_unk
        total += len(content)
        if content and n_unk / len(content) > MOSTLY_UNKNOWN:
            mostly += 1
    return {"texts": mostly, "share_of_tokens": unk_tokens / total if total else 0.0,
            "threshold": MOSTLY_UNKNOWN}


def fold_target_scale(model: Any, mean: float, std: float) -> None:
    """Trained on standardised targets; fold mean/std into the head so the saved
    model outputs real values for anyone loading it with plain transformers."""
    import torch

    from lmforge.models.build import regression_head

    head = regression_head(model)
    if head is None:
        raise RuntimeError("regression head not found; cannot restore the target scale")
    with torch.no_grad():
        head.weight.mul_(std)
        if head.bias is not None:
            head.bias.mul_(std).add_(mean)


def write_config(tmp: Path, cfg: TrainConfig) -> dict[str, Any]:
    """config.yaml: the resolved config, re-runnable with ``lmforge train --config``."""
    import yaml

    config = to_mapping(cfg)
    config["out"] = str(Path(cfg.out))
    config["overwrite"] = False
    write_text_atomic(tmp / "config.yaml", "# lmforge train --config this-file reproduces the run\n"
                      + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return config


def write_run(tmp: Path, cfg: TrainConfig, model: Any, tokenizer: Any, metrics: dict[str, Any],
              task: str, labels: list[str], model_dir: Path) -> None:
    import shutil

    from lmforge.eval.plots import save_confusion_matrix_png, save_curves_png
    from lmforge.eval.report import render_model_card, render_report_md

    model.save_pretrained(str(tmp / "model"))
    tokenizer.save_pretrained(str(tmp / "model"))
    config = write_config(tmp, cfg)
    write_json(tmp / "metrics.json", metrics)
    confusion = None
    if task == "single" and "test" in metrics:
        confusion = "confusion_matrix.png"
        save_confusion_matrix_png(metrics["test"]["confusion_matrix"], labels, tmp / confusion,
                                  title=f"Confusion matrix (test, n={metrics['test']['n']})")
    if metrics["train"]["history"]:
        save_curves_png(metrics["train"]["history"], tmp / "training_curves.png",
                        title="Training")
    from lmforge.training.notes import report_sections

    write_text_atomic(tmp / "report.md", render_report_md(
        metrics, task, data_summary=metrics["data"], train_summary=metrics["train"],
        confusion_png=confusion) + report_sections(metrics, cfg.log_to))
    write_text_atomic(tmp / "README.md", render_model_card(
        model_name=Path(cfg.out).name, base_model=cfg.model, task=task, labels=labels, metrics=metrics,
        config=config, usage_dir=str(cfg.out)))
    if not cfg.keep_checkpoints:
        shutil.rmtree(tmp / "checkpoints", ignore_errors=True)


def load(run_dir: str | os.PathLike[str], batch_size: int | None = None) -> Any:
    """Load a run directory for prediction: ``clf.predict([...])``, ``clf.predict_proba([...])``.

    The backend follows what the run holds: PyTorch weights, or the ONNX file that
    ``lmforge export`` writes, blended with the run's TF-IDF part when ``--ensemble auto``
    kept it (same surface either way)."""
    from lmforge.runs.load import load_run

    return load_run(run_dir, batch_size)


def evaluate(run_dir: str | os.PathLike[str], data: str | os.PathLike[str],
             text_col: str | None = None, label_col: str | None = None) -> dict[str, Any]:
    """Metrics of a trained run on a labelled file (same shape as metrics.json's ``test``)."""
    from lmforge.data import load_examples, load_with_schema
    from lmforge.data.columns import ColumnChoice
    from lmforge.labels import check_known
    from lmforge.scoring import score_outputs

    clf = load(run_dir)
    settings = clf.settings
    trained_cols = ColumnChoice(text=settings.get("text_col") or "text",
                                labels=tuple((settings.get("label_col") or "label").split(",")),
                                reason="columns of the training data")
    if text_col or label_col:
        loaded = load_examples(data, text_col=text_col, label_col=label_col, task=clf.task,
                               label_sep=settings.get("label_sep", "|"))
    else:
        try:
            loaded = load_with_schema(data, trained_cols, clf.task, settings.get("label_sep", "|"))
        except DataError as exc:
            if "is not in" not in str(exc) and "columns" not in str(exc):
                raise
            log.info("training columns not found in %s; detecting columns", data)
            loaded = load_examples(data, task=clf.task, label_sep=settings.get("label_sep", "|"))
    examples = loaded.examples
    check_known(clf.task, examples.targets, clf.labels, str(data))
    logits = clf.logits(examples.texts)
    return score_outputs(clf.task, logits, examples.targets, clf.labels)


def predict(run_dir: str | os.PathLike[str], data: str | os.PathLike[str] | Sequence[str],
            text_col: str | None = None) -> list[dict[str, Any]]:
    """Rows ``{"text", "label", "prob_<label>"...}`` (regression: ``{"text", "value"}``)."""
    clf = load(run_dir)
    texts = read_texts(data, text_col) if isinstance(data, str | os.PathLike) else list(data)
    return prediction_rows(clf, texts)


def read_texts(path: str | os.PathLike[str], text_col: str | None = None) -> list[str]:
    from lmforge.data import load_examples

    loaded = load_examples(path, text_col=text_col, require_label=False)
    return loaded.examples.texts
