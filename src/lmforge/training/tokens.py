"""The token-classification recipe (``--task tokens``): named entities or part-of-speech.

Read top to bottom, ``train_tokens`` is the whole of it: read and check the CoNLL/JSONL
file (BIO repaired, counted), split the sentences (seeded), choose the encoder, encode
with labels on each token's first sub-word or all of them (``--label-pieces``; long
sentences as windows of whole tokens; word boundaries as segment ids, ``--word-segments``),
fit the CRF baseline on the same split, fine-tune a token-classification head with the
shared loop (``training.loop.fit``: early stopping on validation entity F1, or token
accuracy for plain tags), score test and validation with seqeval, and write the run
directory (``tokens.json`` beside the usual files).
"""

from __future__ import annotations

import dataclasses
import logging
import random
from pathlib import Path
from typing import Any

from lmforge.config.base import to_mapping
from lmforge.config.train import TrainConfig
from lmforge.data.conll import BIO, Sentence, TokenData
from lmforge.errors import ConfigError
from lmforge.training.steps import TrainResult

log = logging.getLogger(__name__)


class PaddedLabels:
    """The label rows of a batch as one tensor, padded with the ignore index to the batch's
    longest row (``fit`` pads the ids the same way)."""

    def __init__(self, rows: list[list[int]]) -> None:
        self.rows = rows

    def __getitem__(self, idx: list[int]) -> Any:
        import torch

        from lmforge.data.token_windows import IGNORE

        width = max(len(self.rows[i]) for i in idx)
        out = torch.full((len(idx), width), IGNORE, dtype=torch.long)
        for j, i in enumerate(idx):
            out[j, : len(self.rows[i])] = torch.tensor(self.rows[i], dtype=torch.long)
        return out


def token_loss(logits: Any, labels: Any) -> Any:
    import torch.nn.functional as F

    from lmforge.data.token_windows import IGNORE

    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1),
                           ignore_index=IGNORE)


def check_token_config(cfg: TrainConfig) -> None:
    problems = []
    if cfg.model.lower() == "tfidf":
        problems.append("model: tfidf classifies whole texts; token runs fine-tune an encoder "
                        "(the CRF baseline is fitted beside it: --baseline)")
    if cfg.augment:
        problems.append("augment: EDA would move tokens away from their tags; drop --augment")
    if cfg.method == "setfit":
        problems.append("method: setfit classifies whole texts; use --method finetune or auto")
    if cfg.long_text != "truncate":
        problems.append("long_text: token runs always read long sentences as windows of whole "
                        "tokens; drop --long-text")
    if problems:
        raise ConfigError("invalid training config for --task tokens: " + "; ".join(problems))


def split_parts(cfg: TrainConfig, data: TokenData) -> tuple[dict[str, list[Sentence]], str]:
    """train/validation/test sentences: the separate files when given, else a seeded split."""
    from lmforge.data.conll import read_token_file, split_sentences

    held = {name: read_token_file(path, scheme=data.scheme).sentences
            for name in ("validation", "test") if (path := getattr(cfg, name))}
    fractions = {"validation": 0.0 if "validation" in held else cfg.validation_fraction,
                 "test": 0.0 if "test" in held else cfg.test_fraction}
    parts = split_sentences(data.sentences, fractions["validation"], fractions["test"], cfg.seed)
    parts.update(held)
    rng = random.Random(cfg.seed)
    if cfg.max_train_samples and len(parts["train"]) > cfg.max_train_samples:
        parts["train"] = rng.sample(parts["train"], cfg.max_train_samples)
    if cfg.max_eval_samples:
        for name in ("validation", "test"):
            if len(parts[name]) > cfg.max_eval_samples:
                parts[name] = rng.sample(parts[name], cfg.max_eval_samples)
    split_from = "separate files" if held else f"{cfg.data} (random, seed {cfg.seed})"
    return parts, split_from


def tag_set(train: list[Sentence], scheme: str) -> list[str]:
    tags = sorted({t for s in train for t in s.tags})
    if scheme == BIO and "O" in tags:  # O first, then each type's B- and I- together
        tags.remove("O")
        tags = ["O", *sorted(tags, key=lambda t: (t[2:], t[:1]))]
    return tags


def train_tokens(cfg: TrainConfig) -> TrainResult:
    """Write the run directory ``cfg.out`` of a token-classification model."""
    from accelerate.utils import set_seed

    from lmforge.baseline.crf import CRF_NAME, fit_crf_baseline
    from lmforge.baseline.run import compare_to_baseline
    from lmforge.data.conll import read_token_file
    from lmforge.data.token_windows import IGNORE, continuation_ids, encode_sentences
    from lmforge.eval.token_metrics import headline_key, score_tags
    from lmforge.inference.tokens import TokenTagger
    from lmforge.inspect.token_checks import token_train_warnings
    from lmforge.models.build import load_tokenizer
    from lmforge.models.registry import model_record, resolve_default_encoder, resolve_model_dir
    from lmforge.models.token_classifier import build_token_classifier
    from lmforge.rundir import atomic_run_dir, refuse_existing
    from lmforge.training import steps
    from lmforge.training.loop import LoopSettings, fit
    from lmforge.training.optim import apply_freezing
    from lmforge.training.tracking import tracking

    check_token_config(cfg)
    refuse_existing(Path(cfg.out), cfg.overwrite)  # fail before minutes of work, not after
    data = read_token_file(cfg.data)
    scheme, unit = data.scheme, data.unit
    log.info("%s: %d sentences (%s, %s tags, %s level); %d BIO tags repaired", cfg.data,
             len(data.sentences), data.format, "BIO" if scheme == BIO else "plain", unit,
             data.repaired)
    parts, split_from = split_parts(cfg, data)
    for name, part in parts.items():
        log.info("%s: %d sentences", name, len(part))
    if not parts["train"]:
        raise ConfigError(f"{cfg.data}: no sentences left to train on; lower --test-fraction / "
                          "--validation-fraction or give more data")
    labels = tag_set(parts["train"], scheme)
    index = {tag: i for i, tag in enumerate(labels)}
    unseen = {name: sum(t not in index for s in parts[name] for t in s.tags)
              for name in ("validation", "test")}

    if cfg.model.lower() == "default":
        texts = ["".join(s.tokens) if unit == "char" else " ".join(s.tokens)
                 for s in parts["train"][:2000]]
        entry, reason, model_dir = resolve_default_encoder(texts)
        model_name = entry.name
    else:
        model_name, reason, model_dir = cfg.model, "given with --model", resolve_model_dir(cfg.model)
    pieces, segments = label_pieces(cfg), word_segments(cfg, model_dir)
    log.info("--word-segments %s: %s", cfg.word_segments,
             "token boundaries go in as alternating segment ids" if segments else "no segment ids")
    resolved = dataclasses.replace(cfg, model=model_name, task="tokens",
                                   label_pieces=pieces,
                                   word_segments="yes" if segments else "no",
                                   data=str(Path(cfg.data).resolve()),
                                   validation=_abs(cfg.validation), test=_abs(cfg.test))
    if cfg.num_threads:
        import torch

        torch.set_num_threads(cfg.num_threads)
    tokenizer = load_tokenizer(model_dir)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    continuation = continuation_ids(labels, scheme == BIO) if pieces == "all" else None
    encoded = {name: encode_sentences(tokenizer, [s.tokens for s in part], cfg.max_length,
                                      [[index.get(t, IGNORE) for t in s.tags] for s in part],
                                      pieces, continuation, segments)
               for name, part in parts.items()}
    for name, rows in encoded.items():
        if rows.n_windowed or rows.n_tokens_cut:
            log.info("%s: %d of %d sentences are longer than %d sub-words and are read as "
                     "windows; %d tokens longer than a window keep their first sub-words",
                     name, rows.n_windowed, rows.n_sentences, cfg.max_length, rows.n_tokens_cut)
    # the quick checks of `lmforge inspect --task tokens`, before minutes are spent
    warnings = token_train_warnings(data.as_dict(), parts,
                                    {k: v.summary() for k, v in encoded.items()}, cfg.max_length,
                                    str(cfg.data))
    for message in warnings:
        log.warning("%s", message)

    baseline = fit_crf_baseline(parts, scheme, unit) if cfg.baseline else None

    set_seed(cfg.seed)  # the new head's initialisation depends on it
    model = build_token_classifier(model_dir, labels, cfg.dropout)
    frozen = apply_freezing(model, cfg.freeze_embeddings, cfg.freeze_layers)  # e5: auto
    key = headline_key(scheme)

    def tagger_of(m: Any) -> TokenTagger:
        return TokenTagger(run_dir=Path(cfg.out), model=m, tokenizer=tokenizer, labels=labels,
                           scheme=scheme, unit=unit, max_length=cfg.max_length,
                           batch_size=cfg.eval_batch_size, settings={}, pieces=pieces,
                           segments=segments)

    def score(m: Any, name: str, samples: bool = False) -> dict[str, Any]:
        part = parts[name]
        predicted = tagger_of(m).tag([s.tokens for s in part])
        return score_tags([s.tags for s in part], predicted, scheme,
                          [s.tokens for s in part] if samples else None)

    def validate(m: Any) -> tuple[float, dict[str, Any]]:
        metrics = score(m, "validation")
        return metrics[key], {k: metrics[k] for k in ("f1", "accuracy") if k in metrics}

    settings = LoopSettings(
        epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
        eval_batch_size=cfg.eval_batch_size, weight_decay=cfg.weight_decay,
        warmup_ratio=cfg.warmup_ratio, max_grad_norm=cfg.max_grad_norm, grad_accum=cfg.grad_accum,
        early_stopping_patience=cfg.early_stopping_patience, seed=cfg.seed,
        show_progress=cfg.show_progress)
    out = Path(cfg.out)
    with atomic_run_dir(out, cfg.overwrite) as tmp, \
            tracking(cfg.log_to, tmp, out.name, to_mapping(resolved)) as settings.tracker:
        fitted = fit(model, encoded["train"].input_ids, PaddedLabels(encoded["train"].labels),
                     token_loss, settings, pad_id, validate if parts["validation"] else None,
                     tmp / "checkpoints")
        model.eval()
        metrics: dict[str, Any] = {}
        for name in ("test", "validation"):
            if parts[name]:
                metrics[name] = score(model, name, samples=name == "test")
        metrics["train"] = steps.train_metrics(
            seconds=fitted.seconds, samples_seen=fitted.samples_seen,
            examples=len(parts["train"]), epochs=fitted.epochs_run, best_epoch=fitted.best_epoch,
            stopped_early=fitted.stopped_early, steps=fitted.steps, history=fitted.history)
        metrics["train"].update(frozen)
        metrics["data"] = {
            **data.as_dict(), "splits": {k: len(v) for k, v in parts.items()},
            "split_from": split_from, "tags": labels, "unseen_tags": unseen,
            "encoding": {k: v.summary() for k, v in encoded.items()},
            "model": model_record(model_name, model_dir, reason), "warnings": warnings}
        if baseline is not None:
            if "test" in metrics and "test" in baseline:
                baseline["verdict"] = compare_to_baseline(
                    f"tokens-{scheme}", metrics["test"], baseline["test"], fitted.seconds,
                    baseline["seconds"], baseline_label=f"{CRF_NAME} baseline")
                log.info("%s", baseline["verdict"]["sentence"])
            metrics["baseline"] = baseline
        write_token_run(tmp, resolved, model, tokenizer, metrics, labels, scheme, unit,
                        {"pieces": pieces, "segments": segments})
    log.info("wrote %s", out)
    return TrainResult(run_dir=out, metrics=metrics, config=resolved)


def label_pieces(cfg: TrainConfig) -> str:
    """--label-pieces resolved: auto is ``first`` for both schemes. Measured on People's Daily
    part of speech (m3e-small, 12,000 sentences, 3 epochs, same split): ``first`` 0.938 token
    accuracy, ``all`` (mean of a word's pieces) 0.935; BIO follows run_ner's default."""
    return "first" if cfg.label_pieces == "auto" else cfg.label_pieces


def word_segments(cfg: TrainConfig, model_dir: Path) -> bool:
    """--word-segments resolved; auto is no. Measured on People's Daily part of speech
    (m3e-small, 12,000 sentences, 3 epochs, same split): with segment ids 0.939 token accuracy,
    without 0.938, validation 0.940 vs 0.939: no gain worth another graph input by default."""
    if cfg.word_segments != "yes":
        return False
    from transformers import AutoConfig

    types = getattr(AutoConfig.from_pretrained(str(model_dir)), "type_vocab_size", 0) or 0
    if types < 2:
        raise ConfigError(f"word_segments: the model {cfg.model} has {types} segment type(s); "
                          "marking tokens needs two. Drop --word-segments yes.")
    return True


def write_token_run(tmp: Path, cfg: TrainConfig, model: Any, tokenizer: Any,
                    metrics: dict[str, Any], labels: list[str], scheme: str, unit: str,
                    reading: dict[str, Any]) -> None:
    """model/, run.json, tokens.json, config.yaml, metrics.json, report.md, README.md."""
    import shutil

    from lmforge.eval.plots import save_curves_png
    from lmforge.eval.token_report import render_token_card, render_token_report
    from lmforge.inference.tokens import TOKENS_FILE
    from lmforge.rundir import TOKENS, write_json, write_manifest, write_text_atomic
    from lmforge.training.steps import write_config

    model.save_pretrained(str(tmp / "model"))
    tokenizer.save_pretrained(str(tmp / "model"))
    write_manifest(tmp, TOKENS)
    write_json(tmp / TOKENS_FILE, {"labels": labels, "scheme": scheme, "unit": unit, **reading})
    write_config(tmp, cfg)
    write_json(tmp / "metrics.json", metrics)
    if metrics["train"]["history"]:
        save_curves_png(metrics["train"]["history"], tmp / "training_curves.png", title="Training")
    write_text_atomic(tmp / "report.md", render_token_report(metrics, title=Path(cfg.out).name))
    write_text_atomic(tmp / "README.md", render_token_card(Path(cfg.out).name, cfg.model, labels,
                                                           scheme, unit, metrics, str(cfg.out)))
    if not cfg.keep_checkpoints:
        shutil.rmtree(tmp / "checkpoints", ignore_errors=True)


def _abs(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path else None
