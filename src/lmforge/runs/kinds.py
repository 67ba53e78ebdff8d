"""The kinds of run directory, and the one place that tells which kind a run is.

Every writer of a run (``train`` for each method, ``export``, ``prune``, ``distill``)
records its kind in ``RUN/run.json`` (``{"kind": ..., "format": 1}``; an ensemble also
names what its ``model/`` holds) with ``rundir.write_manifest``. Runs written
before the manifest existed have none: their kind is read from their files, as lmforge
always did. ``KINDS`` is the table:
each kind says how to recognise it from its files and how to load it, so adding a
kind of run touches this module (and its test), plus its name in ``layout.RUN_KINDS``.

| kind           | ``model/`` holds                                 | loads as           |
|----------------|--------------------------------------------------|--------------------|
| ``transformers`` | a transformers classifier (fine-tuned, pruned, distilled) | ``Classifier``  |
| ``setfit``     | a tuned encoder + ``setfit_head.safetensors``    | ``Classifier``     |
| ``tfidf``      | ``tfidf.json`` + weights (``--model tfidf``)     | ``TfidfClassifier``|
| ``onnx``       | ``model.onnx`` (``lmforge export``)              | ``OnnxClassifier`` |
| ``ensemble``   | one of the above, blended with ``baseline/``     | ``EnsembleClassifier`` |
| ``tokens``     | a token classifier, or its ``model.onnx``; ``tokens.json`` beside | ``TokenTagger`` |
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError, RunDirError
from lmforge.inference.surface import Predictor
from lmforge.rundir import (
    ENSEMBLE,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    ONNX,
    SETFIT,
    TFIDF,
    TOKENS,
    TRANSFORMERS,
    read_config,
)

log = logging.getLogger(__name__)

# load(run_dir, settings, batch_size, num_threads): the settings are the run's config.yaml
Loader = Callable[..., Predictor]


@dataclass(frozen=True)
class RunKind:
    name: str
    holds: Callable[[Path], bool]  # recognises an old run (no run.json) from its files
    load: Loader


# ------------------------------------------------------------------ the manifest


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    """``RUN/run.json``, checked; None for a run written before it existed."""
    path = run_dir / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RunDirError(f"cannot read '{path}': {exc}. Copy the complete run directory, or "
                          f"delete {MANIFEST_FILE} to have the kind of run read from its "
                          "files.") from exc
    if not isinstance(manifest, dict):
        raise RunDirError(f"{path}: expected a mapping with \"kind\" and \"format\"")
    if int(manifest.get("format", 0)) > MANIFEST_FORMAT:
        raise RunDirError(f"'{path}' was written by a newer lmforge (format "
                          f"{manifest['format']}); upgrade lmforge to load it.")
    kind = manifest.get("kind")
    part = manifest.get("model") if kind == ENSEMBLE else kind
    if kind not in KINDS or part not in MODEL_KINDS and kind != ENSEMBLE:
        raise RunDirError(f"{path}: unknown kind of run {kind!r} (lmforge knows "
                          f"{', '.join(KINDS)}); upgrade lmforge to load it.")
    if part not in MODEL_KINDS:
        raise RunDirError(f"{path}: unknown kind {part!r} of the ensemble's model/ (lmforge "
                          f"knows {', '.join(MODEL_KINDS)}); upgrade lmforge to load it.")
    return manifest


# ------------------------------------------------------------------ which kind


def run_kind(run_dir: str | Path) -> str:
    """The kind of ``run_dir``: from ``run.json``, else from its files."""
    path = Path(run_dir)
    manifest = read_manifest(path)
    if manifest is not None:
        return str(manifest["kind"])
    return ENSEMBLE if KINDS[ENSEMBLE].holds(path) else _kind_of_files(path)


def model_kind(run_dir: str | Path) -> str:
    """The kind of what ``RUN/model`` holds alone: an ensemble's transformer part, or the
    run's own kind."""
    path = Path(run_dir)
    manifest = read_manifest(path)
    if manifest is not None:
        return str(manifest.get("model") if manifest["kind"] == ENSEMBLE else manifest["kind"])
    return _kind_of_files(path)


def _kind_of_files(path: Path) -> str:
    for name in MODEL_KINDS:
        if KINDS[name].holds(path):
            return name
    return TRANSFORMERS


# ------------------------------------------------------------------ loading each kind


def token_fields(run_dir: Path, settings: dict[str, Any], batch_size: int | None) -> dict[str, Any]:
    """The fields every loaded run shares, from its config.yaml: the task, how texts become
    tokens (as in training) and the batch size."""
    return {"run_dir": run_dir, "task": settings.get("task", "single"),
            "max_length": int(settings.get("max_length", 128)),
            "truncation": settings.get("truncation", "head+tail"),
            "batch_size": batch_size or int(settings.get("eval_batch_size", 64)),
            "settings": settings}


def labels_from_config(model_dir: Path, task: str) -> list[str]:
    """The label order of a transformers ``config.json`` (``id2label``); none for regression."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read '{model_dir / 'config.json'}': {exc}") from exc
    if task == "regression":
        return []
    id2label = config.get("id2label") or {}
    return [id2label[str(i)] for i in range(len(id2label))]


def _is_head_pruned(model_dir: Path) -> bool:
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False  # load_classifier reports the problem
    return bool(config.get("pruned_heads"))


def _load_transformers(run_dir: Path, settings: dict[str, Any], batch_size: int | None,
                       num_threads: int | None = None) -> Predictor:
    """A transformers classifier, plus models whose attention heads were removed."""
    from lmforge.inference.torch import Classifier
    from lmforge.models.build import load_classifier, load_tokenizer
    from lmforge.models.structure import load_sequence_classifier

    model_dir = run_dir / "model"
    fields = token_fields(run_dir, settings, batch_size)
    if _is_head_pruned(model_dir):
        model = load_sequence_classifier(model_dir)
        labels = labels_from_config(model_dir, fields["task"])
    else:
        model = load_classifier(model_dir)
        labels = [] if fields["task"] == "regression" else [
            model.config.id2label[i] for i in range(model.config.num_labels)]
    return Classifier(model=model, tokenizer=load_tokenizer(model_dir), labels=labels, **fields)


def _load_setfit(run_dir: Path, settings: dict[str, Any], batch_size: int | None,
                 num_threads: int | None = None) -> Predictor:
    """A ``Classifier`` (same surface as any run) over a SetFit model."""
    from lmforge.inference.setfit import load_setfit_model
    from lmforge.inference.torch import Classifier
    from lmforge.models.build import load_tokenizer

    model_dir = run_dir / "model"
    fields = token_fields(run_dir, settings, batch_size)
    return Classifier(model=load_setfit_model(model_dir), tokenizer=load_tokenizer(model_dir),
                      labels=labels_from_config(model_dir, fields["task"]), **fields)


def load_onnx_classifier(run_dir: Path, batch_size: int | None = None,
                         num_threads: int | None = None,
                         onnx_path: Path | None = None) -> Any:
    """An ONNX run dir (or any ONNX file with a run dir's tokenizer and config.yaml).
    ``num_threads`` sets ONNX Runtime's intra-op threads."""
    return _load_onnx(Path(run_dir), read_config(run_dir), batch_size, num_threads, onnx_path)


def _load_onnx(run_dir: Path, settings: dict[str, Any], batch_size: int | None,
               num_threads: int | None = None, onnx_path: Path | None = None) -> Any:
    from lmforge.inference.onnx import ONNX_FILE, OnnxClassifier, create_session
    from lmforge.models.build import load_tokenizer

    model_dir = run_dir / "model"
    onnx_path = onnx_path or model_dir / ONNX_FILE
    fields = token_fields(run_dir, settings, batch_size)
    return OnnxClassifier(model=create_session(onnx_path, num_threads),
                          tokenizer=load_tokenizer(model_dir),
                          labels=labels_from_config(model_dir, fields["task"]),
                          onnx_path=onnx_path, **fields)


def _load_tfidf(run_dir: Path, settings: dict[str, Any], batch_size: int | None,
                num_threads: int | None = None) -> Predictor:
    """``lmforge train --model tfidf``: n-grams and a linear model."""
    from lmforge.inference.tfidf import TfidfClassifier
    from lmforge.models.tfidf import load_tfidf

    model = load_tfidf(run_dir / "model")
    return TfidfClassifier(run_dir=run_dir, model=model, task=model.task,
                           labels=list(model.labels),
                           batch_size=batch_size or int(settings.get("eval_batch_size", 64)),
                           settings=settings)


def _load_ensemble(run_dir: Path, settings: dict[str, Any], batch_size: int | None,
                   num_threads: int | None = None) -> Predictor:
    """Both parts of an ensemble run; the transformer part loads like any run's model."""
    from lmforge.inference.ensemble import EnsembleClassifier
    from lmforge.inference.tfidf import TfidfClassifier
    from lmforge.models.tfidf import is_tfidf_dir, load_tfidf
    from lmforge.runs.ensemble import BASELINE_DIR, ENSEMBLE_FILE, read_ensemble_json

    meta = read_ensemble_json(run_dir)
    baseline_dir = run_dir / BASELINE_DIR
    if not is_tfidf_dir(baseline_dir):
        raise ModelError(f"'{run_dir}' holds {ENSEMBLE_FILE} but not its TF-IDF part "
                         f"('{baseline_dir}' has no tfidf.json). Copy the complete run directory, "
                         f"or remove {ENSEMBLE_FILE} and {MANIFEST_FILE} to load the transformer "
                         "alone.")
    transformer = KINDS[model_kind(run_dir)].load(run_dir, settings, batch_size, num_threads)
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


def _load_tokens(run_dir: Path, settings: dict[str, Any], batch_size: int | None,
                 num_threads: int | None = None) -> Any:
    """A token-classification run (``--task tokens``), PyTorch or exported ONNX."""
    from lmforge.inference.tokens import load_token_tagger

    return load_token_tagger(run_dir, settings, batch_size, num_threads)


def _holds_tokens(run_dir: Path) -> bool:
    from lmforge.inference.tokens import is_token_run

    return is_token_run(run_dir)


def _holds_onnx(run_dir: Path) -> bool:
    from lmforge.inference.onnx import ONNX_FILE

    return (run_dir / "model" / ONNX_FILE).is_file()


def _holds_tfidf(run_dir: Path) -> bool:
    from lmforge.models.tfidf import is_tfidf_dir

    return is_tfidf_dir(run_dir / "model")


def _holds_setfit(run_dir: Path) -> bool:
    from lmforge.inference.setfit import is_setfit_dir

    return is_setfit_dir(run_dir / "model")


def _holds_ensemble(run_dir: Path) -> bool:
    from lmforge.runs.ensemble import ENSEMBLE_FILE

    return (run_dir / ENSEMBLE_FILE).is_file()


KINDS: dict[str, RunKind] = {
    TRANSFORMERS: RunKind(TRANSFORMERS, lambda run_dir: True, _load_transformers),
    SETFIT: RunKind(SETFIT, _holds_setfit, _load_setfit),
    TFIDF: RunKind(TFIDF, _holds_tfidf, _load_tfidf),
    ONNX: RunKind(ONNX, _holds_onnx, _load_onnx),
    ENSEMBLE: RunKind(ENSEMBLE, _holds_ensemble, _load_ensemble),
    TOKENS: RunKind(TOKENS, _holds_tokens, _load_tokens),
}
# what ``model/`` may hold, in the order an old run's files are checked (transformers last:
# any other model directory is one)
MODEL_KINDS = (TOKENS, ONNX, TFIDF, SETFIT, TRANSFORMERS)
