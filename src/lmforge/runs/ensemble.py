"""Ensemble run directories: a transformer and its TF-IDF baseline, blended.

``lmforge train`` (``--ensemble auto``) writes one when validation keeps the TF-IDF
baseline in the model (``lmforge.training.ensemble`` decides):

- ``RUN/model/``: the transformer, as in every run (plain transformers loads it;
  after ``lmforge export --onnx`` it holds ``model.onnx`` instead);
- ``RUN/baseline/``: the TF-IDF part, saved by ``models.tfidf.save_tfidf``;
- ``RUN/ensemble.json``: the choice ("blend" or "baseline"), the weight ``w``, the
  task and the label order.

How the loaded parts predict together is ``lmforge.inference.ensemble``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

ENSEMBLE_FILE = "ensemble.json"
BASELINE_DIR = "baseline"
FORMAT = "lmforge-ensemble"
FORMAT_VERSION = 1


def write_ensemble_files(run_dir: Path, baseline_model: Any, choice: str, weight: float,
                         task: str, labels: Sequence[str]) -> None:
    """``RUN/baseline/`` and ``RUN/ensemble.json`` beside the transformer in ``RUN/model/``
    (and ``run.json`` saying the run is now an ensemble)."""
    from lmforge.models.tfidf import save_tfidf
    from lmforge.rundir import ENSEMBLE, write_json, write_manifest
    from lmforge.runs.kinds import model_kind

    transformer_kind = model_kind(run_dir)
    save_tfidf(baseline_model, run_dir / BASELINE_DIR)
    write_json(run_dir / ENSEMBLE_FILE, {
        "format": FORMAT, "version": FORMAT_VERSION, "choice": choice, "weight": weight,
        "task": task, "labels": list(labels), "transformer": "model", "baseline": BASELINE_DIR,
        "blend": "p = weight * p_transformer + (1 - weight) * p_baseline (probabilities: "
                 "softmax for single-label, sigmoid for multi-label; values for regression)"})
    write_manifest(run_dir, ENSEMBLE, model=transformer_kind)


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
                         f"\"{FORMAT}\"). Remove it and run.json to load the transformer alone, or retrain.")
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
