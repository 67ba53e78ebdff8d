"""Build transformers sequence-classification models for our three tasks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError
from lmforge.models.registry import offline_env

log = logging.getLogger(__name__)

PROBLEM_TYPES = {
    "single": "single_label_classification",
    "multi": "multi_label_classification",
    "regression": "regression",
}


def load_tokenizer(model_dir: Path) -> Any:
    offline_env()
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(model_dir))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot load a tokenizer from '{model_dir}': {exc}. The model directory needs its "
            "tokenizer files (tokenizer.json or vocab files) next to config.json."
        ) from exc


def build_classifier(
    model_dir: Path, task: str, labels: list[str], dropout: float | None = None
) -> Any:
    """A fresh classification head on the encoder in ``model_dir``."""
    offline_env()
    from transformers import AutoConfig, AutoModelForSequenceClassification

    overrides: dict[str, Any] = {"problem_type": PROBLEM_TYPES[task]}
    if task == "regression":
        overrides["num_labels"] = 1
    else:
        overrides["num_labels"] = len(labels)
        overrides["id2label"] = dict(enumerate(labels))
        overrides["label2id"] = {label: i for i, label in enumerate(labels)}
    try:
        config = AutoConfig.from_pretrained(str(model_dir), **overrides)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"'{model_dir}/config.json' is not a usable model config: {exc}") from exc
    if dropout is not None:
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
                     "dropout", "attention_dropout", "seq_classif_dropout"):
            if hasattr(config, name):
                setattr(config, name, dropout)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), config=config)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load model weights from '{model_dir}': {exc}") from exc
    return model


def load_classifier(model_dir: Path) -> Any:
    offline_env()
    from transformers import AutoModelForSequenceClassification

    try:
        return AutoModelForSequenceClassification.from_pretrained(str(model_dir))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the trained model from '{model_dir}': {exc}") from exc


def regression_head(model: Any) -> Any:
    """The final Linear layer producing the single regression output, if we can find it."""
    import torch

    found = None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and module.out_features == 1 and (
            "classifier" in name or "score" in name or "out_proj" in name
        ):
            found = module
    return found
