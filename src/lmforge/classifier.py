"""A trained run loaded for inference: ``fit/predict/predict_proba`` shapes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import DataError, RunDirError
from lmforge.rundir import check_run_dir

log = logging.getLogger(__name__)


class PredictSurface:
    """``classes_``, ``predict``, ``predict_proba`` and ``decode`` for any backend that has
    ``task``, ``labels`` and ``logits(texts)`` (PyTorch, ONNX, TF-IDF runs): one place decides
    how scores become labels, so every backend answers alike."""

    task: str
    labels: list[str]

    def logits(self, texts: Sequence[str]) -> Any:  # pragma: no cover - each backend has its own
        raise NotImplementedError

    @property
    def classes_(self) -> list[str]:
        """Label names in the column order of ``predict_proba`` (scikit-learn's name)."""
        return list(self.labels)

    def predict_proba(self, texts: Sequence[str]) -> Any:
        """(n, k) probabilities, columns in ``classes_`` order (multi-label: independent)."""
        from lmforge.models.inference import logits_to_outputs

        if self.task == "regression":
            raise DataError("predict_proba is for classifiers; this run is a regression model. "
                            "Use predict().")
        return logits_to_outputs(self.task, self.logits(texts))

    def predict(self, texts: Sequence[str], threshold: float = 0.5) -> list[Any]:
        """Label strings (single), tuples of labels (multi) or floats (regression)."""
        from lmforge.models.inference import logits_to_outputs

        return self.decode(logits_to_outputs(self.task, self.logits(texts)), threshold)

    def decode(self, outputs: Any, threshold: float = 0.5) -> list[Any]:
        if self.task == "single":
            return [self.labels[int(i)] for i in outputs.argmax(axis=1)]
        if self.task == "multi":
            return [tuple(self.labels[j] for j in range(len(self.labels)) if row[j] >= threshold)
                    for row in outputs]
        return [float(v) for v in outputs]


@dataclass
class Classifier(PredictSurface):
    """A run directory's model, ready to predict. Create with ``lmforge.load(RUN_DIR)``."""

    run_dir: Path
    model: Any
    tokenizer: Any
    task: str
    labels: list[str]
    max_length: int
    truncation: str
    batch_size: int
    settings: dict[str, Any]

    def logits(self, texts: Sequence[str]) -> Any:
        from lmforge.models.inference import text_logits

        encoded = encode_for_model(self, texts)
        return text_logits(self.model, encoded, _pad_id(self.tokenizer), self.batch_size)


def encode_for_model(clf: Any, texts: Sequence[str]) -> Any:
    """Texts -> token ids the way training saw them (same cleaning, ``max_length``,
    truncation or windows), for any backend with ``tokenizer``, ``max_length``,
    ``truncation`` and ``settings`` (the run's config.yaml)."""
    from lmforge.data.clean import clean_text
    from lmforge.data.tokenize import encode_texts, window_spec_from

    texts = _as_texts(texts)
    windows = window_spec_from(getattr(clf, "settings", None) or {})
    encoded = encode_texts(clf.tokenizer, [clean_text(t) for t in texts],
                           clf.max_length, clf.truncation, windows)
    if encoded.n_truncated and windows is not None:
        log.info("%d of %d texts were longer than %d tokens and were read as windows",
                 encoded.n_truncated, len(texts), clf.max_length)
    elif encoded.n_truncated:
        log.info("%d of %d texts were longer than %d tokens and were shortened (%s)",
                 encoded.n_truncated, len(texts), clf.max_length, clf.truncation)
    return encoded


def _as_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise DataError("pass a list of texts, not a single string: predict(['some text'])")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise DataError(f"text #{i} is {type(text).__name__}, not a string")
    return out


def _pad_id(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def load_classifier_run(run_dir: str | Path, batch_size: int | None = None) -> Classifier:
    import yaml

    from lmforge.models.build import load_classifier, load_tokenizer

    path = check_run_dir(run_dir)
    try:
        settings = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RunDirError(f"{path / 'config.yaml'}: not valid YAML ({exc})") from exc
    model = load_classifier(path / "model")
    tokenizer = load_tokenizer(path / "model")
    task = settings.get("task", "single")
    labels = [] if task == "regression" else [
        model.config.id2label[i] for i in range(model.config.num_labels)
    ]
    return Classifier(
        run_dir=path, model=model, tokenizer=tokenizer, task=task, labels=labels,
        max_length=int(settings.get("max_length", 128)),
        truncation=settings.get("truncation", "head+tail"),
        batch_size=batch_size or int(settings.get("eval_batch_size", 64)),
        settings=settings,
    )
