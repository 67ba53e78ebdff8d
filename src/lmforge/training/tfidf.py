"""The TF-IDF recipe (``--model tfidf``): the baseline alone, written as a run directory
of its own. Seconds on a CPU; ``lmforge.load`` and every later command take the run
like any other."""

from __future__ import annotations

import logging
from pathlib import Path

from lmforge.config.train import TrainConfig
from lmforge.training.prepare import Prepared
from lmforge.training.steps import TrainResult

log = logging.getLogger(__name__)


def run(cfg: TrainConfig, prepared: Prepared) -> TrainResult:
    from lmforge.baseline.run import fit_baseline, tfidf_metrics, write_tfidf_artifacts
    from lmforge.rundir import atomic_run_dir
    from lmforge.training import steps

    task, parts, labels, summary = prepared.task, prepared.parts, prepared.labels, prepared.summary
    weights = steps.class_weights(cfg, task, parts["train"].targets, labels, summary)
    steps.warn_before_training(summary, parts["train"], labels, task)
    out = Path(cfg.out)
    with atomic_run_dir(out, cfg.overwrite) as tmp:
        model, fitted = fit_baseline(task, parts, labels, "balanced" if weights else None)
        metrics = tfidf_metrics(fitted, summary.as_dict())
        config = steps.write_config(tmp, cfg)
        write_tfidf_artifacts(tmp, model, metrics, config, out, parts["test"])
    log.info("wrote %s", out)
    return TrainResult(run_dir=out, metrics=metrics, config=cfg)
