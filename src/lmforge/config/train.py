"""Configuration of ``lmforge train``. Each field's docstring is its --help text.

The grammar of the values checked here (``--augment eda:N``, which ``--log-to``
needs an optional package) lives here too, so validating a config imports
nothing above the config layer; ``augment`` and ``training.tracking`` use it.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from typing import Any, Literal

from lmforge.errors import ConfigError

# What --task accepts: a task (lmforge.data.task.Task's values), or auto (decided from the labels).
# Spelled out rather than imported so that config stays below data in the layering.
TaskRequest = Literal["auto", "single", "multi", "regression", "tokens"]

AUGMENT_SPEC = re.compile(r"^eda(?::(\d+))?$")
MAX_COPIES = 32  # --augment eda:N: at most this many augmented copies per training text
NEEDS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}  # --log-to value -> import name
TOKEN_ONLY = ("label_pieces", "word_segments")  # fields only --task tokens reads


def spec_problems(spec: str | None) -> list[str]:
    """Problems with an ``--augment`` value (empty list when fine or not given)."""
    if spec is None or spec == "":
        return []
    match = AUGMENT_SPEC.match(spec.strip().lower())
    if not match:
        return [f"augment: '{spec}' is not an augmentation; use eda or eda:N (N augmented copies "
                "per training text, e.g. eda:4)"]
    copies = int(match.group(1) or 1)
    if not 1 <= copies <= MAX_COPIES:
        return [f"augment: N in eda:N must be between 1 and {MAX_COPIES}, got {copies}"]
    return []


def tracker_problems(kind: str) -> list[str]:
    """Config problems of ``--log-to`` (a missing optional package), for TrainConfig.validate."""
    package = NEEDS.get(kind)
    if package and importlib.util.find_spec(package) is None:
        return [f"log_to: {kind} needs the '{package}' package, which is not installed; "
                f"`pip install 'lmforge[track]'` (or `pip install {package}`), or use --log-to csv"]
    return []


@dataclass
class TrainConfig:
    data: str = ""
    """Training data file (CSV, TSV, JSONL, Parquet). Split into train/validation/test
    unless --validation/--test are given."""
    out: str = ""
    """Run directory to write (model, metrics, report). Refused if it exists, unless --overwrite."""
    validation: str | None = None
    """Separate validation file (optional; otherwise carved out of --data)."""
    test: str | None = None
    """Separate test file (optional; otherwise carved out of --data)."""
    text_col: str | None = None
    """Name of the text column (detected when not given); several comma-separated (title,text;
    a list in YAML) are joined into one input with the tokenizer's separator token."""
    pair: str | None = None
    """Two text columns read as a sentence pair, e.g. sentence1,sentence2 (detected by name:
    sentence1/sentence2, premise/hypothesis, question/answer, text_a/text_b)."""
    label_col: str | None = None
    """Label column; comma-separated names of 0/1 columns for multi-label (detected when not given)."""
    task: TaskRequest = "auto"
    """auto, single (one label per text), multi (several labels), regression (a number), or
    tokens: one tag per token (named entities in BIO/IOB2, part-of-speech) from CoNLL files
    ('token<TAB>tag' lines, a blank line between sentences) or JSONL {"tokens", "tags"}."""
    label_sep: str = "|"
    """Separator between labels of one text in multi-label data, e.g. 'sports|politics'."""
    model: str = "default"
    """'default' (all-MiniLM-L6-v2; multilingual-e5-small when the texts are mostly Chinese,
    Japanese or Korean), a name from `lmforge models` (offline encoders, e.g. m3e-small), a local
    directory holding a transformers model, or 'tfidf' (TF-IDF + logistic/ridge regression only:
    seconds on a CPU, a run dir like any other)."""
    epochs: int = 3
    """Maximum number of passes over the training data."""
    lr: float = 1e-4
    """Peak learning rate of AdamW."""
    batch_size: int = 32
    """Training examples per optimizer step (before gradient accumulation)."""
    eval_batch_size: int = 64
    """Examples per forward pass when evaluating and predicting."""
    max_length: int = 128
    """Maximum tokens per text (special tokens included); longer texts are truncated per --truncation."""
    truncation: Literal["head+tail", "head", "tail"] = "head+tail"
    """How texts over --max-length are shortened: keep the first quarter and last three quarters
    of the budget (head+tail, Sun et al. 2019), only the head, or only the tail. Counted and reported."""
    long_text: Literal["truncate", "window"] = "truncate"
    """What to do with texts over --max-length: truncate (per --truncation), or window: read the
    whole text as overlapping windows of --max-length tokens, each encoded, the text's logits
    the mean of its windows' logits (training, evaluation, prediction, the service and ONNX)."""
    window_stride: int | None = None
    """--long-text window: tokens from one window's start to the next (default three quarters
    of --max-length, so neighbouring windows share a quarter)."""
    max_windows: int = 8
    """--long-text window: at most this many windows per text (cost bound); a longer text keeps
    its first quarter and last three quarters of windows, and is counted in the report."""
    train_windows: int | None = None
    """--long-text window: windows per text drawn at random each training epoch (default: all,
    up to --max-windows); 1 trains on one random window per text per epoch, the cheapest."""
    label_pieces: Literal["auto", "first", "all"] = "auto"
    """--task tokens: which sub-words of a token carry its tag in training. first (Hugging Face
    run_ner's default: later sub-words are ignored by the loss), all (run_ner's
    label_all_tokens: a BIO tag's later sub-words get its I- tag and the tag is read from the
    first; a plain tag goes on every sub-word and is read from the mean of their logits), or
    auto: first (on People's Daily part of speech, all scored 0.935 against first's 0.938)."""
    word_segments: Literal["auto", "yes", "no"] = "auto"
    """--task tokens: mark where each token starts with segment ids that alternate from one
    token to the next (the model's token-type embeddings), for pre-split words whose sub-words
    carry no boundary (Chinese words read as bare characters). auto: no (on People's Daily
    part of speech, yes scored 0.939 against no's 0.938: within noise)."""
    seed: int = 0
    """One seed for the split, initialisation, shuffling and dropout."""
    weight_decay: float = 0.01
    """AdamW weight decay (not applied to biases and LayerNorm weights)."""
    warmup_ratio: float = 0.06
    """Fraction of optimizer steps with linear warmup; then linear decay to zero."""
    max_grad_norm: float = 1.0
    """Gradient clipping threshold (global L2 norm); 0 disables clipping."""
    grad_accum: int = 1
    """Gradient accumulation steps (effective batch = batch_size * grad_accum)."""
    freeze_embeddings: Literal["auto", "yes", "no"] = "auto"
    """Keep the word-embedding matrix fixed while fine-tuning: yes, no, or auto (yes for a large
    multilingual vocabulary: over 100k pieces holding over half the encoder's weights, as
    multilingual-e5-small's 250k do; each step then updates 22M weights instead of 118M)."""
    freeze_layers: int = 0
    """Keep the embeddings and the bottom N transformer layers fixed: the backward pass stops
    above them, so a step costs less (a layer's backward pass costs about twice its forward:
    N of L layers frozen saves about 2N/3L of a step, 4 of 12 a fifth); 0 trains every layer."""
    dropout: float | None = None
    """Dropout probability for hidden layers and the head; empty keeps the model's own."""
    class_weights: Literal["auto", "balanced", "none"] = "auto"
    """Loss weights per class: balanced (n / (k * count)), none, or auto (balanced when the largest
    class has at least 3x the examples of the smallest)."""
    early_stopping_patience: int = 2
    """Stop after this many epochs without improvement of validation macro-F1 (loss for
    regression); the best epoch's weights are kept. 0 disables early stopping."""
    validation_fraction: float = 0.1
    """Share of --data held out for validation when no --validation file is given."""
    test_fraction: float = 0.2
    """Share of --data held out for testing when no --test file is given."""
    max_train_samples: int | None = None
    """Train on a stratified random subset of this many examples (quick runs, demos)."""
    max_eval_samples: int | None = None
    """Evaluate on a stratified random subset of this many validation/test examples."""
    overwrite: bool = False
    """Replace an existing run directory."""
    keep_checkpoints: bool = False
    """Keep checkpoints/ (last and best epoch) in the run directory after training."""
    checkpoint_every: int = 0
    """Save the resumable state (weights, optimizer, scheduler, RNG, place in the epoch) every
    this many optimizer steps, besides each epoch end; 0: at epoch ends only."""
    resume: bool = False
    """Continue the unfinished run OUT.partial (left by a crash or kill) where its last checkpoint
    stopped; the settings that change the result must be the same."""
    processes: int = 1
    """Data-parallel worker processes (CPU, or one per GPU), started through torchrun;
    --batch-size is per process. Not needed under `accelerate launch` / `torchrun`."""
    num_threads: int | None = None
    """CPU threads for torch (default: all cores)."""
    show_progress: bool = True
    """Show a progress bar with ETA and live loss on stderr."""
    baseline: bool = True
    """Also fit a TF-IDF + logistic regression baseline (seconds on a CPU) on the same split and
    report its scores beside the model's, with a verdict on whether the model is worth its cost."""
    ensemble: Literal["auto", "off"] = "auto"
    """auto: blend the model's probabilities with the TF-IDF baseline's, p = w * model + (1 - w) *
    baseline, w chosen on the validation split only; the blend is kept when it beats both parts on
    validation, else the better part alone (report.md says which). off: the model alone. Needs
    --baseline and a validation split."""
    augment: str | None = None
    """Augment the training split (never validation/test): eda or eda:N adds N copies per text
    made by EDA's synonym replacement, random insertion, swap and deletion (Wei & Zou 2019)."""
    synonyms: str | None = None
    """Synonym file for --augment (one line per word: 'word syn1 syn2 ...'); default: nearest
    whole-word neighbours in the model's own input embeddings."""
    method: Literal["auto", "finetune", "setfit"] = "auto"
    """finetune (a classification head, all weights trained), setfit (contrastive sentence-pair
    tuning of the encoder, then logistic regression; Tunstall et al. 2022) or auto: setfit for
    single-label data with under 16 training examples per class on average, else finetune."""
    setfit_iterations: int = 20
    """SetFit: sentence pairs drawn per training text (one similar, one dissimilar per iteration)."""
    log_to: Literal["none", "csv", "tensorboard", "mlflow"] = "none"
    """Track losses and metrics per step: csv (RUN/metrics_history.csv), tensorboard
    (RUN/tensorboard) or mlflow (./mlruns); the last two need `pip install 'lmforge[track]'`."""

    def validate(self) -> None:
        """Raise one ConfigError listing every invalid field."""
        problems: list[str] = []
        if not self.data:
            problems.append("data: a training file is required (--data FILE)")
        if not self.out:
            problems.append("out: a run directory is required (--out RUN_DIR)")
        positive = ("epochs", "batch_size", "eval_batch_size", "grad_accum", "processes")
        for name in positive:
            if getattr(self, name) < 1:
                problems.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        if not 8 <= self.max_length <= 8192:
            problems.append(f"max_length: must be between 8 and 8192, got {self.max_length}")
        if not 0 < self.lr < 1:
            problems.append(f"lr: must be in (0, 1), got {self.lr}")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay: must be >= 0, got {self.weight_decay}")
        if self.max_grad_norm < 0:
            problems.append(f"max_grad_norm: must be >= 0, got {self.max_grad_norm}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            problems.append(f"dropout: must be in [0, 1), got {self.dropout}")
        if self.freeze_layers < 0:
            problems.append(f"freeze_layers: must be >= 0, got {self.freeze_layers}")
        if self.early_stopping_patience < 0:
            problems.append("early_stopping_patience: must be >= 0")
        if self.checkpoint_every < 0:
            problems.append(f"checkpoint_every: must be >= 0, got {self.checkpoint_every}")
        for name in ("validation_fraction", "test_fraction"):
            if not 0 <= getattr(self, name) < 1:
                problems.append(f"{name}: must be in [0, 1), got {getattr(self, name)}")
        if self.validation_fraction + self.test_fraction >= 0.9:
            problems.append("validation_fraction + test_fraction: must leave at least 10% to train")
        for name in ("max_train_samples", "max_eval_samples", "num_threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name}: must be >= 1 when given, got {value}")
        if self.window_stride is not None and not 1 <= self.window_stride < self.max_length:
            problems.append(f"window_stride: must be between 1 and max_length - 1 "
                            f"({self.max_length - 1}), got {self.window_stride}")
        if self.max_windows < 2:
            problems.append(f"max_windows: must be >= 2 (the first and the last window), "
                            f"got {self.max_windows}")
        if self.train_windows is not None and not 1 <= self.train_windows:
            problems.append(f"train_windows: must be >= 1 when given, got {self.train_windows}")
        if self.long_text == "truncate" and (self.window_stride is not None
                                             or self.train_windows is not None):
            problems.append("window_stride/train_windows: only used with --long-text window; "
                            "add it or drop them")
        if self.pair is not None and len([n for n in self.pair.split(",") if n.strip()]) != 2:
            problems.append(f"pair: needs two column names, like sentence1,sentence2; got "
                            f"{self.pair!r}")
        if self.pair and self.text_col:
            problems.append("pair/text_col: give one of them: --pair names both texts of a pair")
        for name in TOKEN_ONLY:
            if getattr(self, name) != "auto" and self.task not in ("auto", "tokens"):
                problems.append(f"{name}: only token classification (--task tokens) uses it; "
                                f"this is --task {self.task}. Drop --{name.replace('_', '-')}")
        if self.pair and self.long_text == "window":
            problems.append("long_text: window reads one long text as windows; a sentence pair "
                            "is shortened with longest_first. Drop --long-text window for pairs")
        if not self.label_sep:
            problems.append("label_sep: must not be empty")
        problems += spec_problems(self.augment) + tracker_problems(self.log_to)
        if self.synonyms and not self.augment:
            problems.append("synonyms: only used with --augment eda[:N]; add --augment or drop it")
        if self.setfit_iterations < 1:
            problems.append(f"setfit_iterations: must be >= 1, got {self.setfit_iterations}")
        if self.method == "setfit" and self.model.lower() == "tfidf":
            problems.append("method: setfit tunes a sentence encoder; --model tfidf has none. "
                            "Use --model default (or a local encoder) with --method setfit")
        if problems:
            raise ConfigError("invalid training config: " + "; ".join(problems))


def resolve_train_config(config: TrainConfig | None = None, **overrides: Any) -> TrainConfig:
    """``config`` (default: all defaults) with ``overrides`` (field values) applied, each
    value coerced to its field's type, validated whole."""
    from lmforge.config.base import from_mapping, to_mapping

    base = to_mapping(config) if config is not None else {}
    base.update(overrides)
    cfg = from_mapping(TrainConfig, base, source="train config")
    cfg.validate()
    return cfg
