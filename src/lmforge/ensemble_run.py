"""Ensemble run directories: a transformer and its TF-IDF baseline, blended.

``lmforge train`` (``--ensemble auto``) writes one when validation keeps the TF-IDF
baseline in the model (``lmforge.training.ensemble`` decides):

- ``RUN/model/``: the transformer, as in every run (plain transformers loads it;
  after ``lmforge export --onnx`` it holds ``model.onnx`` instead);
- ``RUN/baseline/``: the TF-IDF part, saved by ``baseline.tfidf.save_tfidf``;
- ``RUN/ensemble.json``: the choice ("blend" or "baseline"), the weight ``w``, the
  task and the label order.

The blend is of probabilities, not logits: ``p = w * p_transformer + (1 - w) *
p_baseline`` with softmax (single-label) or sigmoid (multi-label) probabilities,
and the same mix of values for regression. ``EnsembleClassifier.logits`` returns
what ``logits_to_outputs`` turns back into ``p``: log-probabilities (single),
logit(p) (multi) or the value (regression).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.classifier import PredictSurface
from lmforge.errors import ModelError

log = logging.getLogger(__name__)

ENSEMBLE_FILE = "ensemble.json"
BASELINE_DIR = "baseline"
FORMAT = "lmforge-ensemble"
FORMAT_VERSION = 1
# log(0) and logit(1) are infinite: probabilities are kept this far from 0 and 1 (float64)
PROBABILITY_FLOOR = 1e-12


def outputs_of(task: str, logits: Any) -> Any:
    """float64 probabilities (softmax / sigmoid) or values, (n, k); the blend's inputs."""
    import numpy as np

    x = np.asarray(logits, dtype=np.float64)
    if task == "single":
        shifted = x - x.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)
    if task == "multi":
        return 1.0 / (1.0 + np.exp(-x))
    return x


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


def is_ensemble_run(run_dir: str | Path) -> bool:
    return (Path(run_dir) / ENSEMBLE_FILE).is_file()


def write_ensemble_files(run_dir: Path, baseline_model: Any, choice: str, weight: float,
                         task: str, labels: Sequence[str]) -> None:
    """``RUN/baseline/`` and ``RUN/ensemble.json`` beside the transformer in ``RUN/model/``."""
    from lmforge.baseline.tfidf import save_tfidf
    from lmforge.rundir import write_json

    save_tfidf(baseline_model, run_dir / BASELINE_DIR)
    write_json(run_dir / ENSEMBLE_FILE, {
        "format": FORMAT, "version": FORMAT_VERSION, "choice": choice, "weight": weight,
        "task": task, "labels": list(labels), "transformer": "model", "baseline": BASELINE_DIR,
        "blend": "p = weight * p_transformer + (1 - weight) * p_baseline (probabilities: "
                 "softmax for single-label, sigmoid for multi-label; values for regression)"})


def read_ensemble_json(run_dir: Path) -> dict[str, Any]:
    path = run_dir / ENSEMBLE_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read '{path}': {exc}. Copy the complete run directory, or "
                         "retrain.") from exc
    problems = []
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"'{path}' is not an lmforge ensemble file (no \"format\": "
                         f"\"{FORMAT}\"). Remove it to load the transformer alone, or retrain.")
    if meta.get("version", 0) > FORMAT_VERSION:
        raise ModelError(f"'{path}' was written by a newer lmforge (format version "
                         f"{meta['version']}); upgrade lmforge to load it.")
    if meta.get("choice") not in ("blend", "baseline", "transformer"):
        problems.append(f"choice {meta.get('choice')!r} is not blend, baseline or transformer")
    weight = meta.get("weight")
    if not isinstance(weight, int | float) or not 0.0 <= weight <= 1.0:
        problems.append(f"weight {weight!r} is not a number in [0, 1]")
    if problems:
        raise ModelError(f"'{path}': {'; '.join(problems)}. Retrain the run.")
    return meta


@dataclass
class EnsembleClassifier(PredictSurface):
    """An ensemble run, ready to predict: its transformer part (a ``Classifier`` or an
    ``OnnxClassifier``) and its TF-IDF part (a ``TfidfClassifier``), blended with
    ``weight`` on the transformer. Same surface as the others; the token settings
    (``tokenizer``, ``max_length``, ``truncation``, ``batch_size``) are the transformer's."""

    run_dir: Path
    transformer: Any
    baseline: Any
    task: str
    labels: list[str]
    choice: str
    weight: float
    settings: dict[str, Any]
    backend: str = "ensemble"

    def logits(self, texts: Sequence[str]) -> Any:
        from lmforge.classifier import _as_texts

        texts = _as_texts(texts)
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


def with_transformer(ensemble: EnsembleClassifier, transformer: Any,
                     run_dir: Path | None = None) -> EnsembleClassifier:
    """The same ensemble over another transformer part (e.g. its ONNX export)."""
    import dataclasses

    return dataclasses.replace(ensemble, transformer=transformer,
                               run_dir=run_dir or ensemble.run_dir)


def load_ensemble_run(run_dir: Path, batch_size: int | None = None,
                      num_threads: int | None = None) -> EnsembleClassifier:
    """Both parts of an ensemble run; the transformer part loads like any run's model."""
    from lmforge.baseline.run import TfidfClassifier
    from lmforge.baseline.tfidf import is_tfidf_dir, load_tfidf
    from lmforge.compress.onnx_backend import load_model_dir_run, read_settings

    meta = read_ensemble_json(run_dir)
    baseline_dir = run_dir / BASELINE_DIR
    if not is_tfidf_dir(baseline_dir):
        raise ModelError(f"'{run_dir}' holds {ENSEMBLE_FILE} but not its TF-IDF part "
                         f"('{baseline_dir}' has no tfidf.json). Copy the complete run directory, "
                         f"or remove {ENSEMBLE_FILE} to load the transformer alone.")
    transformer = load_model_dir_run(run_dir, batch_size, num_threads)
    settings = read_settings(run_dir)
    tfidf = load_tfidf(baseline_dir)
    labels = list(meta.get("labels") or [])
    task = meta.get("task") or transformer.task
    mismatch = [f"{who} has task {part_task} and labels {part_labels}"
                for who, part_task, part_labels in (
                    ("the transformer part (model/)", transformer.task, list(transformer.labels)),
                    (f"the TF-IDF part ({BASELINE_DIR}/)", tfidf.task, list(tfidf.labels)))
                if part_task != task or part_labels != labels]
    if mismatch:
        raise ModelError(f"'{run_dir / ENSEMBLE_FILE}' says task {task} and labels {labels}, but "
                         f"{'; '.join(mismatch)}. The parts come from different runs: retrain.")
    baseline = TfidfClassifier(run_dir=run_dir, model=tfidf, task=task, labels=labels,
                               batch_size=transformer.batch_size, settings=settings)
    ensemble = EnsembleClassifier(run_dir=run_dir, transformer=transformer, baseline=baseline,
                                  task=task, labels=labels, choice=meta["choice"],
                                  weight=float(meta["weight"]), settings=settings)
    log.debug("ensemble run %s: %s", run_dir, ensemble.describe())
    return ensemble
