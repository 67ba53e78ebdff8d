"""Training a text classifier from a config: the data prepared once, then the recipe that
``--model`` / ``--method`` pick (fine-tune, SetFit or TF-IDF). ``lmforge.train`` and the
pre-train-then-fine-tune pipeline call this."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from lmforge.config.train import TOKEN_ONLY, TrainConfig
from lmforge.rundir import refuse_existing, require_partial
from lmforge.training.steps import TrainResult


def train_classifier(cfg: TrainConfig) -> TrainResult:
    """Write the run directory ``cfg.out`` for a validated ``cfg``."""
    cfg = _detect_token_task(cfg)
    if cfg.task == "tokens":  # token classification: its own reader and recipe
        from lmforge.training.tokens import train_tokens

        _refuse_scale_flags(cfg, "token classification")
        return train_tokens(cfg)
    for name in TOKEN_ONLY:
        if getattr(cfg, name) != "auto":
            from lmforge.errors import ConfigError

            raise ConfigError(f"{name}: only token classification uses it, and {cfg.data} is "
                              f"not token data (CoNLL or token JSONL). Drop "
                              f"--{name.replace('_', '-')}, or pass token data with --task "
                              "tokens.")
    refuse_existing(Path(cfg.out), cfg.overwrite)  # fail before minutes of work, not after
    if cfg.resume:
        require_partial(Path(cfg.out))

    from lmforge.training import finetune, setfit, tfidf
    from lmforge.training.prepare import prepare

    prepared = prepare(cfg)
    if prepared.method != "finetune":
        _refuse_scale_flags(cfg, prepared.method)
        _refuse_freezing(cfg, prepared.method)
    recipe = {"finetune": finetune, "setfit": setfit, "tfidf": tfidf}[prepared.method]
    return recipe.run(prepared.config, prepared)


def _detect_token_task(cfg: TrainConfig) -> TrainConfig:
    """--task auto on a CoNLL file or token JSONL trains token classification (as inspect
    does), said in the log; the run's config.yaml records ``task: tokens``."""
    if cfg.task != "auto" or not cfg.data:
        return cfg
    from lmforge.data.conll import token_file_reason

    reason = token_file_reason(cfg.data)
    if reason is None:
        return cfg
    logging.getLogger(__name__).info("--task auto: %s is %s: token classification "
                                     "(--task tokens)", cfg.data, reason)
    return dataclasses.replace(cfg, task="tokens")


def _refuse_scale_flags(cfg: TrainConfig, method: str) -> None:
    """--resume and --processes are fine-tuning's (its loop checkpoints and shards)."""
    if cfg.resume or cfg.processes > 1:
        from lmforge.errors import ConfigError

        raise ConfigError(f"{'resume' if cfg.resume else 'processes'}: only classifier "
                          f"fine-tuning checkpoints and trains data-parallel; this run is {method}: "
                          "run it again from the start, in one process.")


def _refuse_freezing(cfg: TrainConfig, method: str) -> None:
    """--freeze-layers / --freeze-embeddings yes act on fine-tuning's encoder; SetFit tunes the
    whole encoder contrastively and TF-IDF has none, so asking for them there is an error, not a
    flag silently ignored."""
    asked = [name for name, on in (("freeze_layers", cfg.freeze_layers > 0),
                                   ("freeze_embeddings", cfg.freeze_embeddings == "yes")) if on]
    if asked:
        from lmforge.errors import ConfigError

        raise ConfigError(f"{'/'.join(asked)}: only fine-tuning freezes encoder weights; this run "
                          f"is {method}. Drop --{asked[0].replace('_', '-')}, or fine-tune "
                          "(--method finetune with an encoder --model).")
