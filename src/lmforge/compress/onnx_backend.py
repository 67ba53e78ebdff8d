"""Run directories whose model is an ONNX file, and the loader that picks the backend.

``load_run(RUN_DIR)`` returns a ``Classifier`` (PyTorch) or an ``OnnxClassifier``
depending on what ``RUN_DIR/model`` holds; both have the same surface
(``labels``, ``task``, ``classes_``, ``logits``, ``predict``, ``predict_proba``,
``decode``), so predict, evaluate and serve need not know which one they got. A run holding
``ensemble.json`` loads as an ``EnsembleClassifier`` (``lmforge.ensemble_run``) over
one of these and its TF-IDF part.
Text goes through the same cleaning, tokenization and truncation as in
training, so both backends see identical token ids.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.classifier import PredictSurface
from lmforge.errors import ModelError, RunDirError
from lmforge.rundir import check_run_dir

log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.model")


@dataclass
class OnnxClassifier(PredictSurface):
    """A run directory's ONNX model, ready to predict on CPU with ONNX Runtime."""

    run_dir: Path
    model: Any  # the onnxruntime.InferenceSession
    tokenizer: Any
    task: str
    labels: list[str]
    max_length: int
    truncation: str
    batch_size: int
    settings: dict[str, Any]
    onnx_path: Path
    backend: str = "onnx"

    def logits(self, texts: Sequence[str]) -> Any:
        import numpy as np

        from lmforge.classifier import _pad_id, encode_for_model
        from lmforge.data.tokenize import sorted_batches
        from lmforge.models.inference import pool_windows

        encoded = encode_for_model(self, texts)
        input_names = {i.name for i in self.model.get_inputs()}
        rows = encoded.input_ids
        pad_id = _pad_id(self.tokenizer)
        result = np.zeros((len(rows), len(self.labels) or 1), dtype=np.float32)
        for idx in sorted_batches([len(r) for r in rows], self.batch_size):
            feed = pad_numpy([rows[i] for i in idx], pad_id)
            if "token_type_ids" in input_names:  # graphs exported by other tools may want it
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            result[idx] = self.model.run(None, {k: v for k, v in feed.items()
                                                if k in input_names})[0]
        return pool_windows(result, encoded.owner, encoded.n_texts)


def pad_numpy(rows: Sequence[list[int]], pad_id: int) -> dict[str, Any]:
    """``pad_batch`` without torch: int64 ids and mask padded to the longest row."""
    import numpy as np

    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def has_tokenizer(model_dir: Path) -> bool:
    return any((model_dir / name).is_file() for name in TOKENIZER_FILES)


def read_settings(run_dir: Path) -> dict[str, Any]:
    import yaml

    try:
        settings = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RunDirError(f"{run_dir / 'config.yaml'}: not valid YAML ({exc})") from exc
    if not isinstance(settings, dict):
        raise RunDirError(f"{run_dir / 'config.yaml'}: expected a mapping of key: value")
    return settings


def labels_from_config(model_dir: Path, task: str) -> list[str]:
    import json

    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read '{model_dir / 'config.json'}': {exc}") from exc
    if task == "regression":
        return []
    id2label = config.get("id2label") or {}
    return [id2label[str(i)] for i in range(len(id2label))]


def create_session(onnx_path: Path, num_threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if num_threads:
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"cannot load the ONNX model '{onnx_path}': {exc}") from exc


def load_onnx_classifier(run_dir: str | os.PathLike[str], batch_size: int | None = None,
                         num_threads: int | None = None,
                         onnx_path: Path | None = None) -> OnnxClassifier:
    """An ONNX run dir (or any ONNX file with a run dir's tokenizer and config)."""
    from lmforge.models.build import load_tokenizer

    path = check_run_dir(run_dir)
    model_dir = path / "model"
    onnx_path = onnx_path or model_dir / ONNX_FILE
    settings = read_settings(path)
    task = settings.get("task", "single")
    return OnnxClassifier(
        run_dir=path, model=create_session(onnx_path, num_threads),
        tokenizer=load_tokenizer(model_dir), task=task,
        labels=labels_from_config(model_dir, task),
        max_length=int(settings.get("max_length", 128)),
        truncation=settings.get("truncation", "head+tail"),
        batch_size=batch_size or int(settings.get("eval_batch_size", 64)),
        settings=settings, onnx_path=onnx_path,
    )


def is_onnx_run(run_dir: str | os.PathLike[str]) -> bool:
    return (Path(run_dir) / "model" / ONNX_FILE).is_file()


def load_run(run_dir: str | os.PathLike[str], batch_size: int | None = None,
             num_threads: int | None = None) -> Any:
    """A ``Classifier``, ``OnnxClassifier`` or ``TfidfClassifier``, chosen by what
    ``RUN_DIR/model`` holds; an ``EnsembleClassifier`` (that model blended with the TF-IDF
    part in ``RUN_DIR/baseline``) when the run holds ``ensemble.json``.

    ``num_threads`` sets ONNX Runtime's intra-op threads (PyTorch's are process-wide:
    use ``torch.set_num_threads``).
    """
    path = check_run_dir(run_dir)
    from lmforge.ensemble_run import is_ensemble_run, load_ensemble_run

    if is_ensemble_run(path):  # `lmforge train --ensemble auto` kept the TF-IDF baseline
        return load_ensemble_run(path, batch_size, num_threads)
    return load_model_dir_run(path, batch_size, num_threads)


def load_model_dir_run(path: Path, batch_size: int | None = None,
                       num_threads: int | None = None) -> Any:
    """The classifier of what ``RUN_DIR/model`` holds alone (an ensemble run's transformer)."""
    if is_onnx_run(path):
        return load_onnx_classifier(path, batch_size, num_threads)
    from lmforge.baseline.run import is_tfidf_run, load_tfidf_run

    if is_tfidf_run(path):  # `lmforge train --model tfidf`: n-grams and a linear model
        return load_tfidf_run(path, batch_size)
    from lmforge.training.setfit import is_setfit_dir, load_setfit_run

    if is_setfit_dir(path / "model"):  # `--method setfit`: tuned encoder + logistic-regression head
        return load_setfit_run(path, batch_size)
    return load_torch_classifier(path, batch_size)


def load_torch_classifier(run_dir: Path, batch_size: int | None = None) -> Any:
    """``classifier.load_classifier_run``, plus models whose attention heads were removed."""
    from lmforge.classifier import Classifier, load_classifier_run
    from lmforge.compress.structure import load_sequence_classifier
    from lmforge.models.build import load_tokenizer

    model_dir = run_dir / "model"
    if not _is_head_pruned(model_dir):
        return load_classifier_run(run_dir, batch_size)
    settings = read_settings(run_dir)
    task = settings.get("task", "single")
    return Classifier(
        run_dir=run_dir, model=load_sequence_classifier(model_dir),
        tokenizer=load_tokenizer(model_dir), task=task,
        labels=labels_from_config(model_dir, task),
        max_length=int(settings.get("max_length", 128)),
        truncation=settings.get("truncation", "head+tail"),
        batch_size=batch_size or int(settings.get("eval_batch_size", 64)),
        settings=settings,
    )


def _is_head_pruned(model_dir: Path) -> bool:
    import json

    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False  # load_classifier_run reports the problem
    return bool(config.get("pruned_heads"))
