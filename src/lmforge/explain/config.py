"""Configuration of ``lmforge explain``. Each field's docstring is its --help text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lmforge.errors import ConfigError
from lmforge.explain.attribute import (
    DEFAULT_MAX_STEPS,
    DEFAULT_STEPS,
    DEFAULT_TOLERANCE,
    check_settings,
)

Method = Literal["auto", "ig", "occlusion", "linear"]


@dataclass
class ExplainConfig:
    run_dir: str = ""
    """Run directory written by `lmforge train` (ig needs a PyTorch run; occlusion works on
    ONNX runs from `lmforge export` and TF-IDF runs too; token runs are explained by occlusion
    per entity, or per --word)."""
    text: str | None = None
    """One text to explain."""
    data: str | None = None
    """File of texts to explain (CSV, TSV, JSONL, Parquet, .txt); one HTML section per text."""
    text_col: str | None = None
    """With --data: the text column (detected when not given)."""
    method: Method = "auto"
    """ig: Integrated Gradients on the input word embeddings ([PAD] baseline, [CLS]/[SEP] kept);
    occlusion: leave-one-word-out, the drop in the target's logit (any run, ONNX included);
    linear: a TF-IDF run's exact per-word contributions (coefficient x tf-idf weight);
    auto: ig for PyTorch runs, linear for TF-IDF runs, occlusion for ONNX runs."""
    target: str | None = None
    """Label to explain (multi-label: comma-separated labels). Default: the predicted class;
    multi-label: every label predicted positive, or the top one."""
    steps: int = DEFAULT_STEPS
    """ig: integration steps to start with; doubled until the completeness gap is within
    --tolerance."""
    max_steps: int = DEFAULT_MAX_STEPS
    """ig: the most integration steps tried; a warning says when the gap is still over the
    tolerance there."""
    tolerance: float = DEFAULT_TOLERANCE
    """ig: largest allowed |sum of attributions - (logit(input) - logit(baseline))|, as a fraction
    of max(1, |logit(input) - logit(baseline)|)."""
    why_not: str | None = None
    """Single-label: also show why the model chose its label and not this one (the
    difference of the two labels' attributions), after each explanation and in --html."""
    word: int | None = None
    """Token runs (--task tokens): explain the tag of this word (numbered from 0, as the run
    splits the text) instead of each entity found; required for runs with plain tags
    (part-of-speech)."""
    html: str | None = None
    """Also write a self-contained HTML page here (words highlighted, one section per text)."""
    json: str | None = None
    """Also write the explanations as JSON here."""
    color: bool | None = None
    """Colour the words in the terminal (default: only when stdout is a terminal)."""

    def validate(self) -> None:
        """Raise one ConfigError listing every invalid field."""
        problems = check_settings(self.method, self.steps, self.max_steps, self.tolerance)
        if not self.run_dir:
            problems.insert(0, "run_dir: a run directory is required")
        if (self.text is None) == (self.data is None):
            problems.append("give exactly one of --text TEXT or --data FILE")
        if self.text_col and self.data is None:
            problems.append("text_col: only with --data FILE")
        if self.word is not None and self.word < 0:
            problems.append(f"word: a word number from 0, got {self.word}")
        if problems:
            raise ConfigError("invalid explain settings: " + "; ".join(problems))
