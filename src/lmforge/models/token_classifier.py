"""Build and load transformers token-classification models (``--task tokens``): a linear
head over every position of a pre-trained encoder (``AutoModelForTokenClassification``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmforge.errors import ModelError
from lmforge.models.registry import offline_env

DROPOUT_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
                  "dropout", "attention_dropout")


def build_token_classifier(model_dir: Path, labels: list[str], dropout: float | None = None) -> Any:
    """A fresh token-classification head (one output per tag) on the encoder in ``model_dir``."""
    offline_env()
    from transformers import AutoConfig, AutoModelForTokenClassification

    try:
        config = AutoConfig.from_pretrained(
            str(model_dir), num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)})
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"'{model_dir}/config.json' is not a usable model config: {exc}") from exc
    if dropout is not None:
        for name in DROPOUT_FIELDS:
            if hasattr(config, name):
                setattr(config, name, dropout)
    try:
        return AutoModelForTokenClassification.from_pretrained(str(model_dir), config=config)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load model weights from '{model_dir}' for token "
                         f"classification: {exc}") from exc


def load_token_classifier(model_dir: Path) -> Any:
    offline_env()
    from transformers import AutoModelForTokenClassification

    try:
        return AutoModelForTokenClassification.from_pretrained(str(model_dir))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the trained token classifier from '{model_dir}': "
                         f"{exc}") from exc

