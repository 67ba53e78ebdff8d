"""TF-IDF backend: a ``--model tfidf`` run (or an ensemble run's TF-IDF part), ready to
predict. The model itself (features, fitting, files) is ``lmforge.models.tfidf``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.inference.surface import PredictSurface, as_texts, check_inputs
from lmforge.models.tfidf import TfidfModel


@dataclass
class TfidfClassifier(PredictSurface):
    """A ``--model tfidf`` run, ready to predict. Same surface as ``Classifier``;
    ``logits`` are log-probabilities up to a constant per row (single), per-label
    logits (multi) or values (regression), as ``logits_to_outputs`` expects."""

    run_dir: Path
    model: TfidfModel
    task: str
    labels: list[str]
    batch_size: int
    settings: dict[str, Any]
    tokenizer: Any = None  # n-grams need none
    max_length: int | None = None  # no token limit: every word of a text counts
    truncation: str | None = None
    backend: str = "tfidf"

    def logits(self, texts: Sequence[str]) -> Any:
        from lmforge.data.clean import clean_text

        texts = as_texts(texts)
        check_inputs(texts, self.model.pair)
        return self.model.scores([clean_text(t) for t in texts])
