"""Causal-LM text generation, prompt templates, and zero/few-shot classification by prompting.

Public API (lazy: importing this package imports neither torch nor transformers):

- ``generate(prompt | prompts, model="default", ...)`` -> ``Generation`` (or a list): greedy or
  sampled decoding (temperature, top-k, top-p), repetition penalty, stop strings, streaming via
  ``on_text``, chat templates and the qa / summarize / chat task templates.
- ``classify_zero_shot(texts, labels, method="auto"|"generative"|"embedding", ...)`` ->
  ``ClassifyResult``: label log-likelihood under a causal LM (KV cache shared by the labels,
  optional contextual calibration, few-shot examples in the prompt) or cosine similarity with
  the sentence encoder (few-shot examples become label prototypes).
- ``load_causal_lm(model)``: the packaged SmolLM2-135M-Instruct ("default", converted once from
  GGUF to safetensors under the user cache dir) or any local causal-LM directory.

CLI: ``lmforge generate``, ``lmforge generate eval``, ``lmforge prompt classify``; see README.md
in this folder for the measurements (load times, zero-shot accuracy and speed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["generate", "classify_zero_shot", "load_causal_lm", "Generation", "ClassifyResult", "CausalLM"]

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.generate.classify import ClassifyResult, classify_zero_shot
    from lmforge.generate.generation import Generation, generate
    from lmforge.generate.models import CausalLM, load_causal_lm

_HOMES = {"generate": "generation", "Generation": "generation", "classify_zero_shot": "classify",
          "ClassifyResult": "classify", "load_causal_lm": "models", "CausalLM": "models"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"lmforge.generate.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'lmforge.generate' has no attribute {name!r}")
