"""Configuration of ``lmforge ngram train``. Each field's docstring is its --help text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lmforge.errors import ConfigError

Smoothing = Literal["kneser-ney", "modified-kneser-ney", "katz-backoff", "stupid-backoff", "add-k"]
SMOOTHINGS: tuple[str, ...] = ("kneser-ney", "modified-kneser-ney", "katz-backoff", "stupid-backoff", "add-k")
Level = Literal["word", "char"]
LEVELS: tuple[str, ...] = ("word", "char")


@dataclass
class NgramTrainConfig:
    corpus: str = ""
    """Training text, UTF-8, one sentence per line (blank lines are skipped)."""
    out: str = ""
    """ARPA file to write (readable by KenLM, SRILM and `lmforge ngram eval`)."""
    order: int = 3
    """Longest n-gram (3 = trigram)."""
    smoothing: Smoothing = "modified-kneser-ney"
    """kneser-ney (interpolated, one discount per order), modified-kneser-ney (three discounts per
    order, estimated as in KenLM's lmplz), katz-backoff (Good-Turing), stupid-backoff (scores, not
    probabilities) or add-k."""
    level: Level = "word"
    """word (whitespace-separated tokens) or char (every non-space character, e.g. for Chinese)."""
    lowercase: bool = False
    """Lowercase the text before tokenizing (applied again when the model scores text)."""
    min_count: int = 1
    """Words seen fewer times in the corpus are mapped to <unk> while training."""
    k: float = 1.0
    """The constant added to every count by add-k smoothing."""
    discount: str | None = None
    """kneser-ney only: a fixed discount for every order (e.g. 0.75), or one per order, unigrams
    first (e.g. 0,0.1,0.1); default: estimated from counts of counts, n1 / (n1 + 2 n2)."""
    backoff: float = 0.4
    """stupid-backoff only: the multiplier applied each time a longer context is abandoned."""

    def discounts(self) -> tuple[float, ...] | None:
        """``discount`` parsed to one value per order, or None (estimate from the data)."""
        if self.discount is None or str(self.discount).strip() == "":
            return None
        values = tuple(float(v) for v in str(self.discount).split(","))
        return values * self.order if len(values) == 1 else values

    def validate(self) -> None:
        """Raise one ConfigError listing every invalid field."""
        problems: list[str] = []
        if not self.corpus:
            problems.append("corpus: a training file is required (--corpus FILE)")
        if not self.out:
            problems.append("out: an output file is required (--out FILE.arpa)")
        if self.order < 1:
            problems.append(f"order: must be >= 1, got {self.order}")
        if self.smoothing not in SMOOTHINGS:
            problems.append(f"smoothing: unknown '{self.smoothing}'; valid: {', '.join(SMOOTHINGS)}")
        if self.level not in LEVELS:
            problems.append(f"level: unknown '{self.level}'; valid: {', '.join(LEVELS)}")
        if self.min_count < 1:
            problems.append(f"min_count: must be >= 1, got {self.min_count}")
        if not self.k > 0:
            problems.append(f"k: must be > 0, got {self.k}")
        if not 0 < self.backoff <= 1:
            problems.append(f"backoff: must be in (0, 1], got {self.backoff}")
        if self.discount is not None and str(self.discount).strip():
            if self.smoothing != "kneser-ney":
                problems.append("discount: only used by --smoothing kneser-ney "
                                f"(got --smoothing {self.smoothing}); drop --discount")
            try:
                values = self.discounts() or ()
            except ValueError:
                problems.append("discount: expected a number or comma-separated numbers, "
                                f"got '{self.discount}'")
            else:
                if self.order >= 1 and len(values) != self.order:
                    problems.append(f"discount: give 1 value or {self.order} (one per order), "
                                    f"got {len(values)}")
                if any(not 0 <= v <= 1 for v in values):
                    problems.append(f"discount: every value must be in [0, 1], got '{self.discount}'")
        if problems:
            raise ConfigError("invalid ngram training config: " + "; ".join(problems))
