"""The library surface: ``train``, ``load``, ``evaluate`` and ``predict``.

The CLI and the HTTP service call these; nothing here parses arguments or prints.
Each is a few lines over the package that owns the work: ``training`` (a recipe
per way of training), ``data`` (reading files), the run loader and ``scoring``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lmforge.inference.rows import prediction_rows

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.config.train import TrainConfig
    from lmforge.training.steps import TrainResult

log = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    # the training code is imported when training, not by `lmforge.load` (start-up time)
    if name == "TrainResult":
        from lmforge.training.steps import TrainResult

        return TrainResult
    raise AttributeError(f"module 'lmforge.api' has no attribute {name!r}")

__all__ = ["TrainResult", "evaluate", "load", "predict", "prediction_rows", "train"]


def train(config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Train a text classifier and write its run directory.

    ``lmforge.train(data="reviews.csv", out="runs/reviews", epochs=2)``; keyword
    arguments are TrainConfig fields and override ``config``. The method follows
    ``--model``/``--method``: fine-tuning, SetFit for few examples per class, or
    TF-IDF (``model="tfidf"``).
    """
    from lmforge.config.train import resolve_train_config
    from lmforge.training.classifier import train_classifier

    return train_classifier(resolve_train_config(config, **overrides))


def load(run_dir: str | os.PathLike[str], batch_size: int | None = None) -> Any:
    """Load a run directory for prediction: ``clf.predict([...])``, ``clf.predict_proba([...])``.

    The backend follows what the run holds: PyTorch weights, or the ONNX file that
    ``lmforge export`` writes, blended with the run's TF-IDF part when ``--ensemble auto``
    kept it (same surface either way)."""
    from lmforge.runs.load import load_run

    return load_run(run_dir, batch_size)


def evaluate(run_dir: str | os.PathLike[str], data: str | os.PathLike[str],
             text_col: str | None = None, label_col: str | None = None) -> dict[str, Any]:
    """Metrics of a trained run on a labelled file (same shape as metrics.json's ``test``)."""
    from lmforge.data import load_examples, load_like_training, training_columns
    from lmforge.eval.diagnostics import one_class_warning
    from lmforge.labels import check_known
    from lmforge.scoring import score_outputs

    clf = load(run_dir)
    if clf.task == "tokens":  # token classification: a CoNLL/JSONL file, seqeval scores
        from lmforge.data.conll import read_token_file
        from lmforge.eval.token_metrics import score_tags

        sentences = read_token_file(data, scheme=clf.scheme).sentences
        predicted = clf.tag([s.tokens for s in sentences])
        return score_tags([s.tags for s in sentences], predicted, clf.scheme,
                          [s.tokens for s in sentences])
    settings = clf.settings
    label_sep = settings.get("label_sep", "|")
    if text_col or label_col:
        loaded = load_examples(data, text_col=text_col, label_col=label_col, task=clf.task,
                               label_sep=label_sep)
    else:
        loaded = load_like_training(data, training_columns(settings.get("text_col"),
                                                           settings.get("label_col"),
                                                           settings.get("pair")),
                                    clf.task, label_sep)
    examples = loaded.examples
    check_known(clf.task, examples.targets, clf.labels, str(data))
    logits = clf.logits(examples.texts)
    metrics = score_outputs(clf.task, logits, examples.targets, clf.labels)
    warning = one_class_warning(metrics, "evaluated")
    if warning:
        log.warning("%s", warning)
    return metrics


def predict(run_dir: str | os.PathLike[str],
            data: str | os.PathLike[str] | Sequence[str | tuple[str, str]],
            text_col: str | None = None) -> list[dict[str, Any]]:
    """Rows ``{"text", "label", "prob_<label>"...}`` (regression: ``{"text", "value"}``);
    for a token run ``{"text", "tokens", "spans", "tags", "entities"}`` (character offsets).
    A sentence-pair run takes ``(first, second)`` pairs (or a file with its pair columns);
    its rows add ``text_pair``."""
    from lmforge.data import read_inputs

    clf = load(run_dir)
    if clf.task == "tokens":
        from lmforge.inference.token_rows import token_prediction_rows

        return token_prediction_rows(clf, data, text_col)
    texts = (read_inputs(data, clf.settings, text_col) if isinstance(data, str | os.PathLike)
             else list(data))
    return prediction_rows(clf, texts)
