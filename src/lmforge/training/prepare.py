"""From a ``TrainConfig`` to the data a recipe trains on: ``prepare(cfg) -> Prepared``.

Load and clean the training file (columns and task detected), read the separate
validation/test files with its schema, split (``data.split.split_for_training``, the
split ``compress`` reproduces), check leakage between the splits, take the
``--max-*-samples`` subsets, fix the label set, choose the base model and the method
(fine-tune, SetFit or TF-IDF), and augment the training split. What was found goes to
the ``DataSummary`` (metrics.json ``data``).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.config.train import TrainConfig
from lmforge.data.clean import Examples
from lmforge.data.task import Task
from lmforge.training.summary import DataSummary

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """Everything a recipe needs besides the config."""

    config: TrainConfig  # resolved: the model used, absolute paths, detected columns and task
    task: Task
    parts: dict[str, Examples]  # "train", "validation", "test" (a part may be empty)
    labels: list[str]  # the training split's labels, sorted; [] for regression
    model_dir: Path | None  # the base model's directory; None for --model tfidf
    method: str  # the recipe: "finetune", "setfit" or "tfidf"
    summary: DataSummary


def prepare(cfg: TrainConfig) -> Prepared:
    from lmforge.data import load_examples, load_with_schema
    from lmforge.data.clean import check_trainable
    from lmforge.data.split import find_leakage, split_for_training, stratified_subset
    from lmforge.labels import check_known, labels_of
    from lmforge.models.registry import model_record, resolve_default_encoder, resolve_model_dir

    tfidf = cfg.model.lower() == "tfidf"
    auto = cfg.model.lower() == "default"  # which encoder depends on the data: chosen below
    model_dir = None if tfidf or auto else resolve_model_dir(cfg.model)
    loaded = load_examples(cfg.data, text_col=cfg.text_col, label_col=cfg.label_col,
                           task=cfg.task, label_sep=cfg.label_sep, pair=cfg.pair)
    if loaded.columns.pair and cfg.long_text == "window":
        from lmforge.data.tokenize import WINDOWS_FOR_PAIRS
        from lmforge.errors import ConfigError

        raise ConfigError(f"{cfg.data}: {loaded.columns.reason}. {WINDOWS_FOR_PAIRS}")
    task = Task(loaded.task.task)
    check_trainable(loaded.examples, cfg.data)
    model, model_reason = cfg.model, "given with --model"
    if auto:
        entry, model_reason, model_dir = resolve_default_encoder(loaded.examples.texts)
        model = entry.name
    resolved = dataclasses.replace(  # config.yaml names the model used, so the run reproduces
        cfg, model=model, data=str(Path(cfg.data).resolve()), text_col=loaded.columns.text_col,
        pair=loaded.columns.pair_col,
        label_col=",".join(loaded.columns.labels), task=task.value,  # YAML takes plain str
        validation=_abs(cfg.validation), test=_abs(cfg.test),
    )

    held_out = {name: load_with_schema(path, loaded.columns, task, cfg.label_sep).examples
                for name in ("validation", "test") if (path := getattr(cfg, name))}
    splits = split_for_training(loaded.examples, validation_fraction=cfg.validation_fraction,
                                test_fraction=cfg.test_fraction, seed=cfg.seed, path=cfg.data,
                                held_out=held_out)
    parts = {"train": splits.train, "validation": splits.validation, "test": splits.test}
    leakage = find_leakage(parts)  # logged with the other checks: warn_before_training
    if cfg.max_train_samples and len(parts["train"]) > cfg.max_train_samples:
        parts["train"] = stratified_subset(parts["train"], cfg.max_train_samples, cfg.seed)
    if cfg.max_eval_samples:
        for name in ("validation", "test"):
            if len(parts[name]) > cfg.max_eval_samples:
                parts[name] = stratified_subset(parts[name], cfg.max_eval_samples, cfg.seed)
    for name, part in parts.items():
        log.info("%s: %d examples", name, len(part))

    labels = labels_of(task, parts["train"].targets)
    if task != Task.REGRESSION:
        for name in ("validation", "test"):
            check_known(task, parts[name].targets, labels, f"{name} split")

    summary = DataSummary(
        source=str(cfg.data), encoding=loaded.encoding, columns=loaded.columns.reason,
        task=loaded.task.reason, cleaning=loaded.clean.as_dict(),
        splits={k: len(v) for k, v in parts.items()},
        split_from="separate files" if held_out else f"{cfg.data} (stratified, seed {cfg.seed})",
        leakage=leakage,
    )
    if model_dir is None:
        method = "tfidf"
    else:
        summary.model = model_record(model, model_dir, model_reason)
        method = _choose_method(resolved, task, parts["train"], labels, summary)
    if cfg.augment:  # the training split only: validation and test stay real text
        from lmforge.augment.eda import augment_training_split

        parts["train"], summary.augmentation = augment_training_split(resolved, parts["train"],
                                                                      model_dir)
        summary.splits = summary.splits | {"train_after_augmentation": len(parts["train"])}
    return Prepared(config=resolved, task=task, parts=parts, labels=labels,
                    model_dir=model_dir, method=method, summary=summary)


def _choose_method(cfg: TrainConfig, task: Task, train_part: Any, labels: list[str],
                   summary: DataSummary) -> str:
    from lmforge.training.setfit import choose_method

    method, reason = choose_method(cfg.method, task, train_part.targets, len(labels))
    log.info("method: %s (%s)", method, reason)
    summary.method = {"method": method, "reason": reason}
    return method


def _abs(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path else None
