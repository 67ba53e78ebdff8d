"""Ensemble backend: a transformer and its TF-IDF baseline, blended.

The run directory's files (``ensemble.json``, ``baseline/``) are
``lmforge.runs.ensemble``; ``lmforge.training.ensemble`` chooses the blend.

The blend is of probabilities, not logits: ``p = w * p_transformer + (1 - w) *
p_baseline`` with softmax (single-label) or sigmoid (multi-label) probabilities,
and the same mix of values for regression. ``EnsembleClassifier.logits`` returns
what ``logits_to_outputs`` turns back into ``p``: log-probabilities (single),
logit(p) (multi) or the value (regression).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.inference.surface import Predictor, PredictSurface, as_texts, logits_to_outputs

log = logging.getLogger(__name__)

# log(0) and logit(1) are infinite: probabilities are kept this far from 0 and 1 (float64)
PROBABILITY_FLOOR = 1e-12


def outputs_of(task: str, logits: Any) -> Any:
    """float64 probabilities (softmax / sigmoid) or values, (n, k); the blend's inputs
    (``logits_to_outputs`` in float64, regression values kept as one column)."""
    import numpy as np

    x = np.asarray(logits, dtype=np.float64)
    return x if task == "regression" else logits_to_outputs(task, x)


def blend_logits(task: str, transformer: Any, baseline: Any, weight: float) -> Any:
    """Logits (float32, n x k) of ``p = weight * p_transformer + (1 - weight) * p_baseline``.

    ``weight`` 1 returns the transformer's logits and 0 the baseline's, unchanged, so a
    part alone predicts exactly as it does on its own.
    """
    import numpy as np

    if weight >= 1.0:
        return np.asarray(transformer, dtype=np.float32)
    if weight <= 0.0:
        return np.asarray(baseline, dtype=np.float32)
    p = weight * outputs_of(task, transformer) + (1.0 - weight) * outputs_of(task, baseline)
    if task == "single":
        out = np.log(np.clip(p, PROBABILITY_FLOOR, 1.0))
    elif task == "multi":
        p = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
        out = np.log(p) - np.log1p(-p)
    else:
        out = p
    return out.astype(np.float32)


@dataclass
class EnsembleClassifier(PredictSurface):
    """An ensemble run, ready to predict: its transformer part (a ``Classifier`` or an
    ``OnnxClassifier``) and its TF-IDF part (a ``TfidfClassifier``), blended with
    ``weight`` on the transformer. Same surface as the others; the token settings
    (``tokenizer``, ``max_length``, ``truncation``, ``batch_size``) are the transformer's."""

    run_dir: Path
    transformer: Predictor
    baseline: Predictor
    task: str
    labels: list[str]
    choice: str
    weight: float
    settings: dict[str, Any]
    backend: str = "ensemble"

    def logits(self, texts: Sequence[str]) -> Any:
        texts = as_texts(texts)
        # a part with weight 0 is not run at all ("baseline": the TF-IDF part alone)
        transformer = self.transformer.logits(texts) if self.weight > 0.0 else None
        baseline = self.baseline.logits(texts) if self.weight < 1.0 else None
        return blend_logits(self.task, transformer, baseline, self.weight)

    @property
    def tokenizer(self) -> Any:
        return self.transformer.tokenizer

    @property
    def max_length(self) -> int:
        return int(self.transformer.max_length)

    @property
    def truncation(self) -> str:
        return str(self.transformer.truncation)

    @property
    def batch_size(self) -> int:
        return int(self.transformer.batch_size)

    @batch_size.setter
    def batch_size(self, value: int) -> None:  # measure() and export's parity check set it
        self.transformer.batch_size = value
        self.baseline.batch_size = value

    def describe(self) -> str:
        if self.choice == "baseline":
            return "the TF-IDF part alone (ensemble choice: baseline)"
        return f"a blend, weight {self.weight:.2f} on the transformer and {1 - self.weight:.2f} " \
               "on the TF-IDF part"


def with_transformer(ensemble: EnsembleClassifier, transformer: Predictor,
                     run_dir: Path | None = None) -> EnsembleClassifier:
    """The same ensemble over another transformer part (e.g. its ONNX export)."""
    import dataclasses

    return dataclasses.replace(ensemble, transformer=transformer,
                               run_dir=run_dir or ensemble.run_dir)
