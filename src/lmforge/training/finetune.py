"""The fine-tuning recipe: a classification head on a pre-trained encoder, all weights
trained (``--method finetune``, the default from 16 training examples per class).

Read top to bottom, ``run`` is the whole of it: tokenize the prepared splits, set the
targets (standardised for regression), weigh the classes, check the data, fit the
TF-IDF baseline, build the model, train with early stopping on validation
(``training.loop.fit``), score validation and test, decide the ensemble, and write the
run directory.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lmforge.config.base import to_mapping
from lmforge.config.train import TrainConfig
from lmforge.data.task import Task
from lmforge.training.prepare import Prepared
from lmforge.training.steps import TrainResult

log = logging.getLogger(__name__)


def run(cfg: TrainConfig, prepared: Prepared) -> TrainResult:
    import numpy as np
    from accelerate.utils import set_seed

    from lmforge.labels import target_tensor
    from lmforge.models.build import build_classifier
    from lmforge.rundir import TRANSFORMERS, check_resumable, resumable_run_dir
    from lmforge.scoring import headline, score_outputs
    from lmforge.training import steps
    from lmforge.training.ensemble import decide_ensemble, write_ensemble_parts
    from lmforge.training.loop import LoopSettings, fit, process_state, streaming_loss
    from lmforge.training.losses import make_loss
    from lmforge.training.optim import apply_freezing
    from lmforge.training.tracking import tracking

    task, parts, labels, summary = prepared.task, prepared.parts, prepared.labels, prepared.summary
    out = Path(cfg.out)
    main = process_state().is_main_process  # data-parallel: one process writes the run
    if main:  # refuse a bad --resume before minutes of work
        check_resumable(out, cfg.overwrite, cfg.resume, to_mapping(cfg))
    assert prepared.model_dir is not None  # the tfidf recipe has none
    tokenizer, pad_id, encoded = steps.encode_parts(cfg, prepared.model_dir, parts, summary)

    # regression trains on standardised targets; the scale is folded back into the head below
    mean, std = 0.0, 1.0
    if task == Task.REGRESSION:
        values = np.array(parts["train"].targets, dtype=float)
        mean, std = float(values.mean()), float(values.std() or 1.0)
    targets = {name: target_tensor(task, part.targets, labels, mean, std)
               for name, part in parts.items()}

    class_weights = steps.class_weights(cfg, task, parts["train"].targets, labels, summary)
    steps.warn_before_training(summary, parts["train"], labels, task)
    baseline, baseline_model = steps.fit_baseline(cfg, parts, labels,
                                                  "balanced" if class_weights else None)

    set_seed(cfg.seed)  # the new head's initialisation depends on it
    model = build_classifier(prepared.model_dir, task, labels, cfg.dropout)
    frozen = apply_freezing(model, cfg.freeze_embeddings, cfg.freeze_layers)
    train_loss = make_loss(task, class_weights)
    eval_loss = make_loss(task)
    key = headline(task)
    has_validation = len(parts["validation"]) > 0

    def validate(m: Any) -> tuple[float, dict[str, Any]]:
        val = encoded["validation"]
        logits, _ = streaming_loss(m, val.input_ids, targets["validation"], eval_loss, pad_id,
                                   cfg.eval_batch_size, val.owner, val.n_texts)
        metrics = score_outputs(task, logits, parts["validation"].targets, labels, (mean, std))
        summary_ = {k: metrics[k] for k in ("loss", "accuracy", "macro_f1", "mse") if k in metrics}
        score = metrics[key] if key != "loss" else -metrics["loss"]
        return score, summary_

    settings = LoopSettings(
        epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
        eval_batch_size=cfg.eval_batch_size, weight_decay=cfg.weight_decay,
        warmup_ratio=cfg.warmup_ratio, max_grad_norm=cfg.max_grad_norm, grad_accum=cfg.grad_accum,
        early_stopping_patience=cfg.early_stopping_patience, seed=cfg.seed,
        show_progress=cfg.show_progress, train_windows=cfg.train_windows,
        checkpoint_every=cfg.checkpoint_every, resume=cfg.resume, resumable=True,
    )
    with resumable_run_dir(out, cfg.overwrite, cfg.resume, to_mapping(cfg), main) as tmp, \
            tracking(cfg.log_to if main else "none", tmp, out.name, to_mapping(cfg),
                     resume=cfg.resume) as settings.tracker:
        fitted = fit(model, encoded["train"].input_ids, targets["train"], train_loss, settings,
                     pad_id, validate if has_validation else None, tmp / "checkpoints",
                     encoded["train"].rows_per_text() if encoded["train"].owner else None)
        if task == Task.REGRESSION:
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
        ensemble = decide_ensemble(cfg.ensemble, task, labels, parts, split_logits,
                                   baseline_model, baseline)
        ensemble.apply(metrics)
        if settings.tracker is not None and "test" in metrics:
            settings.tracker.log_final("test", metrics["test"], fitted.steps, fitted.epochs_run)

        metrics["train"] = steps.train_metrics(
            seconds=fitted.seconds, samples_seen=fitted.samples_seen,
            examples=len(parts["train"]), epochs=fitted.epochs_run, best_epoch=fitted.best_epoch,
            stopped_early=fitted.stopped_early, steps=fitted.steps, history=fitted.history,
            step_losses=fitted.step_losses)
        metrics["train"].update(frozen)
        metrics["data"] = summary.as_dict()
        steps.add_baseline(metrics, baseline, ensemble, fitted.seconds)
        steps.write_run(tmp, cfg, model, tokenizer, metrics, task, labels, TRANSFORMERS,
                        parts["test"], ensemble.test_logits(split_logits.get("test")))
        write_ensemble_parts(tmp, ensemble, str(cfg.out))
    if main:
        log.info("wrote %s", out)
    return TrainResult(run_dir=out, metrics=metrics, config=cfg)


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
