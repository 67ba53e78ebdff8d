"""Configuration of ``lmforge inspect``. Each field's docstring is its --help text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lmforge.errors import ConfigError


@dataclass
class InspectConfig:
    data: str = ""
    """Data file to inspect (CSV, TSV, JSONL, Parquet; for --task tokens CoNLL 'token<TAB>tag'
    lines or JSONL {"tokens", "tags"}, detected by a .conll/.bio/.iob suffix or a first JSON line
    with "tokens")."""
    test: str | None = None
    """A second file (test or validation) to check for texts (sentences) shared with --data
    (leakage)."""
    text_col: str | None = None
    """Name of the text column (detected when not given); several comma-separated are read
    joined, as train reads them."""
    pair: str | None = None
    """Two text columns read as a sentence pair (as for train; detected by name)."""
    label_col: str | None = None
    """Label column; comma-separated names of 0/1 columns for multi-label (detected when not given)."""
    task: Literal["auto", "single", "multi", "regression", "tokens"] = "auto"
    """auto, single, multi or regression (as for train); tokens: token classification (named
    entities in BIO, part-of-speech) from CoNLL or JSONL sentences."""
    label_sep: str = "|"
    """Separator between labels of one text in multi-label data."""
    model: str = "default"
    """Whose tokenizer counts the tokens: 'default' (the encoder train would pick for this data:
    all-MiniLM-L6-v2, or multilingual-e5-small for mostly Chinese/Japanese/Korean text), a name
    from `lmforge models`, a local model directory, or 'tfidf' (no tokenizer: token checks skipped)."""
    max_length: int = 128
    """The --max-length you mean to train with: texts longer than this are counted (token data:
    sentences longer than this are read as windows, never cut)."""
    out: str | None = None
    """Folder for inspect.md and the PNG histograms (created if needed)."""
    json: str | None = None
    """Also write the findings as JSON to this file."""

    def validate(self) -> None:
        """Raise one ConfigError listing every invalid field."""
        problems: list[str] = []
        if not self.data:
            problems.append("data: a data file is required (--data FILE)")
        if not 8 <= self.max_length <= 8192:
            problems.append(f"max_length: must be between 8 and 8192, got {self.max_length}")
        if not self.label_sep:
            problems.append("label_sep: must not be empty")
        if self.task == "tokens":
            given = [name for name in ("text_col", "pair", "label_col") if getattr(self, name)]
            if given:
                problems.append(f"{', '.join(given)}: not for --task tokens (a CoNLL/JSONL file "
                                "has one token and one tag per line or position); leave "
                                f"{'them' if len(given) > 1 else 'it'} out")
        if problems:
            raise ConfigError("invalid inspect config: " + "; ".join(problems))
