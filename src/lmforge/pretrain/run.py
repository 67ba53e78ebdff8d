"""Library entry points of pre-training: ``train_tokenizer_dir`` and ``pretrain``.

``pretrain`` is the recipe, top to bottom: read the corpus -> hold out a slice
-> tokenizer (trained on the corpus, or the model's own) -> model (new, or
loaded to continue) -> sequences for the objective -> the loop -> the run
directory, written atomically:

    RUN_DIR/model/          save_pretrained() + tokenizer: plain transformers loads it
    RUN_DIR/metrics.json    held-out loss/perplexity, tokens/s, corpus and tokenizer facts
    RUN_DIR/config.yaml     the resolved config (re-run with --config)
    RUN_DIR/loss_curve.png  train and held-out loss per step
    RUN_DIR/report.md       the summary in words
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.config.base import from_mapping, to_mapping
from lmforge.errors import ConfigError, ModelError
from lmforge.pretrain.config import PretrainConfig, TokenizerConfig, as_path_list
from lmforge.rundir import (
    atomic_run_dir,
    check_resumable,
    partial_dir,
    refuse_existing,
    require_partial,
    resumable_run_dir,
    write_config,
    write_json,
    write_text_atomic,
)

log = logging.getLogger(__name__)

EVALUATIONS_PER_RUN = 10


@dataclass
class PretrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    config: PretrainConfig


@dataclass
class TokenizerResult:
    out: Path
    report: dict[str, Any]
    coverage: Any = None  # tokenizer.Coverage when a coverage file was given


def _resolve(cls: type, config: Any, overrides: dict[str, Any], source: str) -> Any:
    values = to_mapping(config) if config is not None else {}
    values.update(overrides)
    if "corpus" in values:
        values["corpus"] = as_path_list(values["corpus"])
    cfg = from_mapping(cls, values, source=source)
    cfg.validate()
    return cfg


def train_tokenizer_dir(config: TokenizerConfig | None = None, **overrides: Any) -> TokenizerResult:
    """Train a tokenizer on the corpus files and save it as a transformers tokenizer.

    ``train_tokenizer_dir(corpus=["zh.txt"], kind="wordpiece", vocab_size=8000, out="tok")``
    """
    from lmforge.pretrain.corpus import read_corpus
    from lmforge.pretrain.tokenizer import coverage, save_tokenizer, train_tokenizer

    cfg: TokenizerConfig = _resolve(TokenizerConfig, config, overrides, "tokenizer config")
    out = Path(cfg.out)
    refuse_existing(out, cfg.overwrite)
    corpus = read_corpus(cfg.corpus)
    check = read_corpus([cfg.coverage]) if cfg.coverage else None  # fail before training
    tokenizer = train_tokenizer(
        corpus.lines, cfg.kind, cfg.vocab_size, lowercase=cfg.lowercase,
        min_frequency=cfg.min_frequency, limit_alphabet=cfg.limit_alphabet,
        objective=cfg.objective, model_max_length=cfg.model_max_length)
    report: dict[str, Any] = {
        "kind": cfg.kind, "vocab_size": len(tokenizer), "requested_vocab_size": cfg.vocab_size,
        "corpus": {"files": [str(Path(p).resolve()) for p in cfg.corpus],
                   "lines": corpus.n_lines, "characters": corpus.n_chars},
    }
    cov = None
    if check is not None:
        cov = coverage(tokenizer, check.lines, name=str(cfg.coverage))
        report["coverage"] = cov.as_dict()
        log.info("%s", cov.summary())
    with atomic_run_dir(out, cfg.overwrite) as tmp:
        save_tokenizer(tokenizer, tmp)
        write_json(tmp / "tokenizer_report.json", report)
    return TokenizerResult(out, report, cov)


def pretrain(config: PretrainConfig | None = None, **overrides: Any) -> PretrainResult:
    """Pre-train (or continue pre-training) a language model and write its run directory.

    ``pretrain(objective="mlm", corpus=["zh.txt"], from_scratch="bert-mini", out="runs/zh",
    max_steps=2000)``; keyword arguments are PretrainConfig fields.
    """
    cfg: PretrainConfig = _resolve(PretrainConfig, config, overrides, "pretrain config")
    out = Path(cfg.out)
    refuse_existing(out, cfg.overwrite)  # fail before minutes of work, not after
    if cfg.resume:
        require_partial(out)

    import torch
    from accelerate.utils import set_seed

    from lmforge.models.registry import offline_env
    from lmforge.pretrain.corpus import read_corpus, split_heldout
    from lmforge.pretrain.loop import LMSettings, bf16_default, pretrain_loop
    from lmforge.pretrain.report import format_pretrain_report, save_loss_curve_png
    from lmforge.pretrain.tokenizer import coverage
    from lmforge.training.loop import process_state
    from lmforge.training.optim import apply_freezing

    offline_env()
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    corpus = read_corpus(cfg.corpus)
    train_corpus, heldout_corpus = split_heldout(corpus, cfg.heldout_fraction, cfg.seed)
    if heldout_corpus.n_lines == 0:
        log.warning("no held-out text (the corpus has %d line(s)); perplexity is not measured",
                    corpus.n_lines)
    resolved = dataclasses.replace(
        cfg, corpus=[str(Path(p).resolve()) for p in cfg.corpus], lr=cfg.resolved_lr,
        tokenizer_kind=cfg.resolved_tokenizer_kind if cfg.from_scratch and not cfg.tokenizer
        else "auto",
        tokenizer=str(Path(cfg.tokenizer).resolve()) if cfg.tokenizer else None,
        model=str(_model_dir(cfg.model)) if cfg.model else None,
        mixed_precision=bf16_default() if cfg.mixed_precision == "auto" else cfg.mixed_precision)

    settings_record = _settings_record(resolved)
    main = process_state().is_main_process  # data-parallel: one process writes the run
    if main:  # refuse a bad --resume before minutes of work
        check_resumable(out, cfg.overwrite, cfg.resume, settings_record)
    # resumed: the tokenizer saved when the run started (one trained again might differ)
    saved = partial_dir(out) / "model"
    resumed_tokenizer = saved if cfg.resume and (saved / "tokenizer_config.json").exists() else None
    set_seed(cfg.seed)  # the new model's initialisation depends on it
    tokenizer, model, model_desc = _tokenizer_and_model(resolved, train_corpus.lines,
                                                        resumed_tokenizer)
    frozen = apply_freezing(model, cfg.freeze_embeddings, 0)  # logs what it froze
    shard_dir = out.with_name(out.name + ".shards")
    objective = _build_objective(resolved, tokenizer, train_corpus, heldout_corpus, shard_dir,
                                 model)

    steps_per_epoch = objective.steps_per_epoch(cfg.batch_size)
    total = cfg.max_steps or steps_per_epoch * cfg.epochs
    eval_every = cfg.eval_every or max(1, total // EVALUATIONS_PER_RUN)
    settings = LMSettings(
        total_steps=total, lr=resolved.resolved_lr, batch_size=cfg.batch_size,
        weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio,
        max_grad_norm=cfg.max_grad_norm, log_every=max(1, min(10, total // 50)),
        eval_every=eval_every, mixed_precision=resolved.mixed_precision, seed=cfg.seed,
        show_progress=cfg.show_progress, checkpoint_every=cfg.checkpoint_every,
        resume=cfg.resume)
    log.info("pre-training %s (%s) for %d steps (%.2f epochs of %d sequences), lr %.1e",
             model_desc, objective.name, total, total / max(1, steps_per_epoch),
             steps_per_epoch * cfg.batch_size, settings.lr)

    with resumable_run_dir(out, cfg.overwrite, cfg.resume, settings_record, main) as tmp:
        model_dir = tmp / "model"
        if not cfg.resume:
            tokenizer.save_pretrained(str(model_dir))
        result = pretrain_loop(model, objective, settings, checkpoint_dir=tmp / "checkpoints")
        if not cfg.keep_checkpoints:
            (tmp / "checkpoints" / "last.safetensors").unlink(missing_ok=True)
        model.save_pretrained(str(model_dir))
        tokenizer.save_pretrained(str(model_dir))

        unknown = coverage(tokenizer, heldout_corpus.lines) if heldout_corpus.n_lines else None
        metrics = {
            "objective": objective.name,
            "model": model_desc,
            "parameters": sum(p.numel() for p in model.parameters()),
            "trained_parameters": frozen["trained_weights"],
            "frozen_embedding_weights": frozen["frozen_embedding_weights"],
            "heldout": result.heldout,
            "initial_heldout": result.initial_heldout,
            "train": {"steps": result.steps, "epochs": result.epochs, "tokens": result.tokens,
                      "seconds": result.seconds, "tokens_per_second": result.tokens_per_second,
                      "eval_seconds": result.eval_seconds,
                      "final_loss": next((h["train_loss"] for h in reversed(result.history)
                                          if "train_loss" in h), None)},
            "corpus": {"files": resolved.corpus, "lines": corpus.n_lines,
                       "characters": corpus.n_chars, "train_lines": train_corpus.n_lines,
                       "heldout_lines": heldout_corpus.n_lines,
                       "train_sequences": len(objective.train),
                       "max_length": cfg.max_length},
            "output_vocabulary": _output_record(resolved, objective, len(tokenizer)),
            "tokenizer": {"source": "trained on the corpus" if cfg.from_scratch and not cfg.tokenizer
                          else str(resolved.tokenizer or resolved.model),
                          "kind": resolved.tokenizer_kind if cfg.from_scratch and not cfg.tokenizer
                          else None, "vocab_size": len(tokenizer),
                          "heldout_unknown_share": unknown.unknown_share if unknown else None},
            "history": result.history,
        }
        write_json(tmp / "metrics.json", metrics)
        _write_yaml(tmp / "config.yaml", resolved)
        title = f"{objective.name} pre-training"
        if result.heldout:
            title += f": held-out perplexity {result.heldout['perplexity']:.2f}"
        save_loss_curve_png(result.history, tmp / "loss_curve.png", title)
        write_text_atomic(tmp / "report.md", format_pretrain_report(metrics))
    if main:
        import shutil

        shutil.rmtree(shard_dir, ignore_errors=True)
        log.info("run directory: %s", out)
    return PretrainResult(out, metrics, resolved)


def _model_dir(model: str) -> Path:
    from lmforge.models.registry import resolve_model_dir

    return resolve_model_dir(model)


def _tokenizer_and_model(cfg: PretrainConfig, lines: list[str],
                         saved_tokenizer: Path | None = None) -> tuple[Any, Any, str]:
    from lmforge.pretrain.scratch import (
        build_scratch_model,
        load_for_pretraining,
        max_positions,
        scratch_spec,
    )
    from lmforge.pretrain.tokenizer import load_tokenizer_dir, train_tokenizer

    if cfg.from_scratch:
        spec = scratch_spec(cfg.from_scratch, cfg.objective)
        if saved_tokenizer is not None:
            tokenizer = load_tokenizer_dir(saved_tokenizer)
        elif cfg.tokenizer:
            tokenizer = load_tokenizer_dir(cfg.tokenizer)
            for role in ("pad", "mask") if cfg.objective == "mlm" else ("pad",):
                if getattr(tokenizer, f"{role}_token_id") is None:
                    raise ModelError(f"the tokenizer in '{cfg.tokenizer}' has no {role} token, "
                                     f"which `pretrain {cfg.objective}` needs. Train one with "
                                     "`lmforge tokenizer train`.")
        else:
            tokenizer = train_tokenizer(lines, cfg.tokenizer_kind, cfg.vocab_size,
                                        lowercase=cfg.lowercase, objective=cfg.objective,
                                        model_max_length=max(512, cfg.max_length))
        model = build_scratch_model(spec, tokenizer, cfg.max_length, nsp=cfg.nsp)
        return tokenizer, model, f"{spec.name} from scratch ({spec.description})"

    model_dir = Path(cfg.model or "")
    tokenizer = load_tokenizer_dir(model_dir)
    if cfg.objective == "mlm" and tokenizer.mask_token_id is None:
        raise ModelError(f"the tokenizer of '{model_dir}' has no mask token, so it cannot be "
                         "pre-trained as a masked LM. Use `pretrain clm` for a GPT-style model.")
    if cfg.objective == "clm" and tokenizer.eos_token_id is None and tokenizer.sep_token_id is None:
        raise ModelError(f"the tokenizer of '{model_dir}' has no end-of-sequence token (eos or "
                         "sep), which causal LM packing needs between lines.")
    model = load_for_pretraining(model_dir, cfg.objective, cfg.nsp)
    limit = max_positions(model.config)
    if limit is not None and cfg.max_length > limit:
        raise ConfigError(f"max_length: {cfg.max_length} is longer than '{model_dir}' accepts "
                          f"({limit} positions). Pass --max-length {limit} or less.")
    if getattr(model.config, "pad_token_id", None) is None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id  # fine-tuning needs it (GPT-2)
    return tokenizer, model, f"{model_dir} (continued pre-training)"


def _output_ids(cfg: PretrainConfig, model: Any, vocab_size: int, *parts: Any) -> Any:
    """--output-vocabulary: the token ids the masked LM predicts over, or None for all."""
    from lmforge.pretrain.objectives import corpus_vocabulary, has_bert_head
    from lmforge.training.optim import LARGE_VOCABULARY

    bert_head = has_bert_head(model)
    if cfg.output_vocabulary == "full" or (cfg.output_vocabulary == "auto" and (
            not bert_head or vocab_size <= LARGE_VOCABULARY)):
        return None
    if not bert_head:
        raise ConfigError(f"output_vocabulary: 'corpus' needs a BERT-layout masked LM (bert + cls "
                          f"modules); this one is {type(model).__name__}. Use "
                          "--output-vocabulary full.")
    ids = corpus_vocabulary(*parts)
    log.info("the masked LM predicts over the %d pieces found in the corpus, of %d "
             "(--output-vocabulary %s): perplexity is over those pieces", len(ids), vocab_size,
             cfg.output_vocabulary)
    return ids


def _output_record(cfg: PretrainConfig, objective: Any, vocab_size: int) -> dict[str, Any] | None:
    if cfg.objective != "mlm":
        return None
    ids = getattr(objective, "output_ids", None)
    return {"setting": cfg.output_vocabulary, "pieces": vocab_size if ids is None else len(ids),
            "of": vocab_size,
            "scope": "every piece" if ids is None else "the pieces found in the corpus"}


def _build_objective(cfg: PretrainConfig, tokenizer: Any, train: Any, heldout: Any,
                     shard_dir: Path, model: Any) -> Any:
    """The objective; its training sequences tokenized into memory-mapped shards in
    ``shard_dir`` (reused when they match: a resumed run), next-sentence pairs in memory."""
    from lmforge.errors import DataError
    from lmforge.pretrain import shards
    from lmforge.pretrain.corpus import Corpus
    from lmforge.pretrain.objectives import CausalLM, MaskedLM
    from lmforge.pretrain.sequences import (
        Sequences,
        iter_blocks,
        iter_packed_lines,
        iter_tokenized,
        pack_blocks,
        pack_lines,
        sentence_pairs,
        tokenize_lines,
    )
    from lmforge.training.loop import process_state

    def write_train_shards() -> None:
        key = shards.shard_key(cfg.corpus, tokenizer, {
            name: getattr(cfg, name) for name in ("objective", "max_length", "packing",
                                                  "whole_word_mask", "heldout_fraction", "seed")})
        with process_state().main_process_first():  # the first process writes, the others read
            if shards.cached(shard_dir, key):
                log.info("tokenized training sequences: reused %s", shard_dir)
                return
            shards.start(shard_dir)
            lines = iter_tokenized(tokenizer, train.lines, cfg.whole_word_mask)
            if cfg.objective == "clm":
                blocks = iter_blocks(tokenizer, (ids for ids, _ in lines), cfg.max_length)
                shards.write_sequences(shard_dir, "train", ((b, None) for b in blocks))
            else:
                shards.write_sequences(shard_dir, "train", iter_packed_lines(
                    tokenizer, lines, cfg.max_length, cfg.packing, cfg.whole_word_mask))
            shards.finish(shard_dir, key)

    if cfg.objective == "clm":
        write_train_shards()
        blocks = shards.TokenShard(shard_dir, "train")
        held = pack_blocks(tokenizer, tokenize_lines(tokenizer, heldout.lines), cfg.max_length,
                           allow_short=True) if heldout.n_lines else []
        log.info("causal LM: %d blocks of %d tokens to train on, %d held out", len(blocks),
                 cfg.max_length, len(held))
        return CausalLM(blocks, held, seed=cfg.seed)  # type: ignore[arg-type]

    def sequences(part: Corpus) -> Any:
        if cfg.nsp:
            docs = [tokenize_lines(tokenizer, doc, cfg.whole_word_mask) for doc in part.documents]
            return sentence_pairs(tokenizer, docs, cfg.max_length, cfg.seed)
        return pack_lines(tokenizer, tokenize_lines(tokenizer, part.lines, cfg.whole_word_mask),
                          cfg.max_length, pack=cfg.packing)

    if cfg.nsp:  # pairs draw their random second sentence from anywhere: kept in memory
        train_seqs = sequences(train)
    else:
        write_train_shards()
        train_seqs = Sequences(shards.TokenShard(shard_dir, "train"),  # type: ignore[arg-type]
                               shards.TokenShard(shard_dir, "train-words")  # type: ignore[arg-type]
                               if cfg.whole_word_mask else None)
    if len(train_seqs) == 0:
        raise DataError("next-sentence prediction needs documents of at least two lines; every "
                        "document of the corpus has one. Put consecutive sentences on consecutive "
                        "lines (a blank line ends a document), or drop --nsp.")
    held_seqs = sequences(heldout)
    log.info("masked LM: %d training sequences (%d tokens), %d held out", len(train_seqs),
             train_seqs.n_tokens, len(held_seqs))
    return MaskedLM(train_seqs, held_seqs, pad_id=tokenizer.pad_token_id,
                    mask_id=tokenizer.mask_token_id, special_ids=list(tokenizer.all_special_ids),
                    vocab_size=len(tokenizer), probability=cfg.mlm_probability,
                    whole_word=cfg.whole_word_mask, seed=cfg.seed,
                    output_ids=_output_ids(cfg, model, len(tokenizer), train_seqs, held_seqs))


def _write_yaml(path: Path, cfg: PretrainConfig) -> None:
    values = to_mapping(cfg)
    values.pop("overwrite", None)
    write_config(path.parent, values)


def _settings_record(cfg: PretrainConfig) -> dict[str, Any]:
    """The resolved settings an unfinished run records and ``--resume`` compares."""
    values = to_mapping(cfg)
    values.pop("overwrite", None)
    return values
