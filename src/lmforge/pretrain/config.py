"""Configuration of ``lmforge tokenizer train`` and ``lmforge pretrain mlm|clm``.

Each field's docstring is its --help text; ``validate`` reports every problem
in one ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lmforge.errors import ConfigError

TokenizerKind = Literal["wordpiece", "bpe", "unigram"]


def _corpus_problems(corpus: list[str]) -> list[str]:
    if not corpus:
        return ["corpus: at least one text file is required (--corpus FILE...)"]
    if not all(isinstance(c, str) and c for c in corpus):
        return ["corpus: a list of file paths is expected"]
    return []


def as_path_list(value: object) -> list[str]:
    """A YAML/CLI corpus value as a list of paths (one path may come as a string)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[attr-defined]


@dataclass
class TokenizerConfig:
    corpus: list[str] = field(default_factory=list)
    """Text files to train on (UTF-8, one paragraph per line), or CSV/TSV/JSONL/Parquet tables."""
    out: str = ""
    """Directory to write the tokenizer to (loadable by transformers' AutoTokenizer)."""
    kind: TokenizerKind = "wordpiece"
    """wordpiece (BERT; Chinese split per character), bpe (byte-level, GPT-2/RoBERTa; never an
    unknown token) or unigram (SentencePiece)."""
    vocab_size: int = 8000
    """Number of tokens in the vocabulary, special tokens included."""
    coverage: str | None = None
    """Text file to report coverage on: the share of its tokens that are unknown."""
    lowercase: bool | None = None
    """Lowercase (and strip accents for wordpiece) before tokenizing; default: yes for wordpiece, no
    for the others."""
    min_frequency: int = 2
    """Ignore merges/pieces seen fewer times than this (wordpiece and bpe)."""
    limit_alphabet: int | None = None
    """wordpiece: keep only this many most frequent characters; the rest become [UNK]."""
    objective: Literal["mlm", "clm"] = "mlm"
    """What the tokenizer is for: mlm frames a text as <s> text </s> ([CLS] text [SEP]); clm as
    <s> text only, so that generation continues a prompt."""
    model_max_length: int = 512
    """Longest input the models using this tokenizer take (recorded in tokenizer_config.json)."""
    overwrite: bool = False
    """Replace an existing output directory."""

    def validate(self) -> None:
        problems = _corpus_problems(self.corpus)
        if not self.out:
            problems.append("out: an output directory is required (--out DIR)")
        if self.vocab_size < 10:
            problems.append(f"vocab_size: must be >= 10, got {self.vocab_size}")
        if self.min_frequency < 1:
            problems.append(f"min_frequency: must be >= 1, got {self.min_frequency}")
        if self.limit_alphabet is not None and self.limit_alphabet < 1:
            problems.append(f"limit_alphabet: must be >= 1 when given, got {self.limit_alphabet}")
        if self.limit_alphabet is not None and self.kind != "wordpiece":
            problems.append("limit_alphabet: only applies to --kind wordpiece")
        if self.model_max_length < 8:
            problems.append(f"model_max_length: must be >= 8, got {self.model_max_length}")
        if problems:
            raise ConfigError("invalid tokenizer config: " + "; ".join(problems))


@dataclass
class PretrainConfig:
    corpus: list[str] = field(default_factory=list)
    """Text files (UTF-8, one paragraph per line; a blank line ends a document), or
    CSV/TSV/JSONL/Parquet tables whose text column is used."""
    out: str = ""
    """Run directory to write (model/, metrics.json, loss_curve.png, config.yaml)."""
    objective: Literal["mlm", "clm"] = "mlm"
    """mlm: masked language model (BERT); clm: causal language model (GPT)."""
    model: str | None = None
    """Continue pre-training this model: 'default' or a local transformers model directory."""
    from_scratch: str | None = None
    """Pre-train a new model of this named size (bert-mini, bert-tiny, gpt-mini, gpt-tiny); a
    tokenizer is trained on the corpus first."""
    nsp: bool = False
    """mlm only: add next-sentence prediction (pairs of consecutive lines; half the time B is
    a random line)."""
    whole_word_mask: bool = False
    """mlm only: mask all the pieces of a word together (for WordPiece, a Chinese character is
    a word of its own)."""
    packing: bool = False
    """mlm: pack consecutive lines into full --max-length sequences (fewer pad tokens). Off: one
    line per sequence, the way a classifier later sees a text; on Chinese news + reviews it
    left the initial plateau sooner per step and per second. The causal LM always packs."""
    mlm_probability: float = 0.15
    """Share of tokens the masked LM predicts; of those, 0.8 become [MASK], 0.1 a random token,
    0.1 stay unchanged."""
    freeze_embeddings: Literal["auto", "yes", "no"] = "auto"
    """Keep the word-embedding matrix (and the output projection tied to it) fixed: yes, no, or
    auto (yes for a large multilingual vocabulary: over 100k pieces holding over half the
    model's weights, as multilingual-e5-small's 250k do), as `train --freeze-embeddings`."""
    output_vocabulary: Literal["auto", "full", "corpus"] = "auto"
    """mlm: the pieces the masked LM predicts over. corpus: only those found in the corpus
    (training and held-out lines), an exact softmax over them, so continuing a 250k-piece model
    on one language costs a few thousand output rows instead of 250k per predicted token (its
    perplexity is then over those pieces); full: every piece; auto: corpus for a vocabulary over
    100k pieces (BERT-layout models), else full."""
    tokenizer: str | None = None
    """From scratch: use this tokenizer directory (e.g. from `lmforge tokenizer train`) instead
    of training one on the corpus."""
    tokenizer_kind: Literal["auto", "wordpiece", "bpe", "unigram"] = "auto"
    """From scratch: the tokenizer to train; auto = wordpiece for mlm, bpe for clm."""
    vocab_size: int = 8000
    """From scratch: vocabulary size of the tokenizer trained on the corpus."""
    lowercase: bool | None = None
    """From scratch: lowercase the text in the tokenizer (default: yes for wordpiece)."""
    epochs: int = 1
    """Passes over the corpus (ignored when --max-steps is given)."""
    max_steps: int | None = None
    """Stop after this many optimizer steps (overrides --epochs)."""
    lr: float | None = None
    """Peak learning rate of AdamW; default 5e-4 from scratch, 5e-5 when continuing."""
    batch_size: int = 32
    """Sequences per optimizer step."""
    max_length: int = 128
    """Tokens per sequence (special tokens included); lines are packed up to it."""
    weight_decay: float = 0.01
    """AdamW weight decay (not on biases and LayerNorm weights)."""
    warmup_ratio: float = 0.05
    """Fraction of steps with linear warmup; then linear decay to zero."""
    max_grad_norm: float = 1.0
    """Gradient clipping threshold (global L2 norm); 0 disables clipping."""
    heldout_fraction: float = 0.02
    """Share of corpus lines held out to measure perplexity (never trained on)."""
    eval_every: int | None = None
    """Evaluate the held-out loss every N steps (default: about 10 times per run)."""
    seed: int = 0
    """One seed for the held-out split, initialisation, masking and shuffling."""
    num_threads: int | None = None
    """CPU threads for torch (default: all cores)."""
    mixed_precision: Literal["auto", "no", "bf16"] = "auto"
    """bf16 autocast: auto = on a GPU, or on a CPU with bf16 instructions (AVX512-BF16/AMX)."""
    overwrite: bool = False
    """Replace an existing run directory."""
    keep_checkpoints: bool = False
    """Keep checkpoints/last.safetensors in the run directory."""
    checkpoint_every: int = 0
    """Save the resumable state (weights, optimizer, scheduler, RNG, place in the epoch) every
    this many optimizer steps, besides each epoch end; 0: at epoch ends only."""
    resume: bool = False
    """Continue the unfinished run OUT.partial (left by a crash or kill) where its last checkpoint
    stopped; the settings that change the result must be the same."""
    processes: int = 1
    """Data-parallel worker processes (CPU, or one per GPU), started through torchrun;
    --batch-size is per process. Not needed under `accelerate launch` / `torchrun`."""
    show_progress: bool = True
    """Show a progress bar with ETA, live loss and tokens/s on stderr."""

    @property
    def resolved_tokenizer_kind(self) -> str:
        if self.tokenizer_kind != "auto":
            return self.tokenizer_kind
        return "wordpiece" if self.objective == "mlm" else "bpe"

    @property
    def resolved_lr(self) -> float:
        if self.lr is not None:
            return self.lr
        return 5e-4 if self.from_scratch else 5e-5

    def validate(self) -> None:
        """Raise one ConfigError listing every invalid field."""
        from lmforge.pretrain.scratch import SCRATCH_SPECS, scratch_spec

        problems = _corpus_problems(self.corpus)
        if not self.out:
            problems.append("out: a run directory is required (--out RUN_DIR)")
        if self.model and self.from_scratch:
            problems.append("model/from_scratch: pass one of --model DIR (continue pre-training) and "
                            "--from-scratch NAME (new model), not both")
        elif not self.model and not self.from_scratch:
            problems.append("model/from_scratch: pass --model DIR to continue pre-training a model, "
                            f"or --from-scratch NAME for a new one ({', '.join(SCRATCH_SPECS)})")
        if self.from_scratch:
            try:
                scratch_spec(self.from_scratch, self.objective)
            except ConfigError as exc:
                problems.append(str(exc))
        if self.tokenizer and self.model:
            problems.append("tokenizer: only for --from-scratch; with --model the model's own "
                            "tokenizer is used")
        if self.objective != "mlm":
            for name in ("nsp", "whole_word_mask"):
                if getattr(self, name):
                    problems.append(f"{name}: only for `pretrain mlm`")
            if self.packing:
                problems.append("packing: only for `pretrain mlm` (the causal LM always packs)")
        if not 0 < self.mlm_probability < 1:
            problems.append(f"mlm_probability: must be in (0, 1), got {self.mlm_probability}")
        if self.vocab_size < 10:
            problems.append(f"vocab_size: must be >= 10, got {self.vocab_size}")
        if self.checkpoint_every < 0:
            problems.append(f"checkpoint_every: must be >= 0, got {self.checkpoint_every}")
        for name in ("epochs", "batch_size", "processes"):
            if getattr(self, name) < 1:
                problems.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("max_steps", "eval_every", "num_threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name}: must be >= 1 when given, got {value}")
        if not 8 <= self.max_length <= 8192:
            problems.append(f"max_length: must be between 8 and 8192, got {self.max_length}")
        if self.lr is not None and not 0 < self.lr < 1:
            problems.append(f"lr: must be in (0, 1), got {self.lr}")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay: must be >= 0, got {self.weight_decay}")
        if self.max_grad_norm < 0:
            problems.append(f"max_grad_norm: must be >= 0, got {self.max_grad_norm}")
        if not 0 <= self.heldout_fraction <= 0.5:
            problems.append(f"heldout_fraction: must be in [0, 0.5], got {self.heldout_fraction}")
        if problems:
            raise ConfigError(f"invalid pretrain {self.objective} config: " + "; ".join(problems))
