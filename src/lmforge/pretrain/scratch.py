"""Named model configurations for pre-training from scratch, and loading a model
to continue pre-training.

The ``-mini`` sizes follow Turc et al. (2019), "Well-Read Students Learn
Better" (BERT-Mini: 4 layers, 256 hidden, 4 heads): small enough to pre-train
on a CPU in an hour, big enough to beat bag-of-n-grams after pre-training.
The ``-tiny`` sizes are for tests and demos (seconds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import ConfigError, ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScratchSpec:
    name: str
    family: str  # "bert" (masked LM) or "gpt" (causal LM)
    layers: int
    hidden: int
    heads: int
    intermediate: int
    description: str


SCRATCH_SPECS = {
    spec.name: spec
    for spec in (
        ScratchSpec("bert-mini", "bert", 4, 256, 4, 1024,
                    "BERT, 4 layers, 256 hidden, 4 heads (~4M parameters + embeddings)"),
        ScratchSpec("bert-tiny", "bert", 2, 64, 2, 256,
                    "BERT, 2 layers, 64 hidden, 2 heads (tests and demos)"),
        ScratchSpec("gpt-mini", "gpt", 4, 256, 4, 1024,
                    "GPT-2 style decoder, 4 layers, 256 hidden, 4 heads"),
        ScratchSpec("gpt-tiny", "gpt", 2, 64, 2, 256,
                    "GPT-2 style decoder, 2 layers, 64 hidden, 2 heads (tests and demos)"),
    )
}
OBJECTIVE_FAMILY = {"mlm": "bert", "clm": "gpt"}


def scratch_spec(name: str, objective: str | None = None) -> ScratchSpec:
    spec = SCRATCH_SPECS.get(name.lower())
    if spec is None:
        valid = ", ".join(SCRATCH_SPECS)
        raise ConfigError(f"from_scratch: unknown config '{name}'. Valid names: {valid}.")
    if objective is not None and OBJECTIVE_FAMILY[objective] != spec.family:
        fitting = ", ".join(n for n, s in SCRATCH_SPECS.items()
                            if s.family == OBJECTIVE_FAMILY[objective])
        raise ConfigError(f"from_scratch: '{name}' is a {spec.family.upper()} config, which does not "
                          f"fit `pretrain {objective}`. Use one of: {fitting}.")
    return spec


def build_scratch_model(spec: ScratchSpec, tokenizer: Any, max_length: int, nsp: bool = False) -> Any:
    """A randomly initialised model sized by ``spec`` for ``tokenizer``'s vocabulary."""
    from transformers import BertConfig, BertForMaskedLM, BertForPreTraining, GPT2Config, GPT2LMHeadModel

    positions = max(512, max_length)
    if spec.family == "bert":
        config = BertConfig(
            vocab_size=len(tokenizer), hidden_size=spec.hidden, num_hidden_layers=spec.layers,
            num_attention_heads=spec.heads, intermediate_size=spec.intermediate,
            max_position_embeddings=positions, type_vocab_size=2,
            pad_token_id=tokenizer.pad_token_id)
        return BertForPreTraining(config) if nsp else BertForMaskedLM(config)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=spec.hidden, n_layer=spec.layers, n_head=spec.heads,
        n_inner=spec.intermediate, n_positions=positions,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        # without a pad id, GPT2ForSequenceClassification refuses batches > 1
        pad_token_id=tokenizer.pad_token_id)
    return GPT2LMHeadModel(config)


def max_positions(config: Any) -> int | None:
    for name in ("max_position_embeddings", "n_positions", "max_seq_len"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None


def load_for_pretraining(model_dir: Path, objective: str, nsp: bool) -> Any:
    """An existing model with the head the objective needs (continued pre-training).

    A head missing from the checkpoint starts from random weights; we say so,
    since it changes what the first steps do.
    """
    from lmforge.models.registry import offline_env

    offline_env()
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, BertForPreTraining

    try:
        config = AutoConfig.from_pretrained(str(model_dir))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"'{model_dir}/config.json' is not a usable model config: {exc}") from exc
    if nsp and config.model_type != "bert":
        raise ConfigError(f"nsp: next-sentence prediction needs a BERT model; '{model_dir}' is "
                          f"'{config.model_type}'. Drop --nsp or pass a BERT model.")
    cls = BertForPreTraining if nsp else AutoModelForMaskedLM if objective == "mlm" else (
        AutoModelForCausalLM)
    try:
        model, info = cls.from_pretrained(str(model_dir), output_loading_info=True)
    except ValueError as exc:
        kind = "masked" if objective == "mlm" else "causal"
        raise ModelError(f"'{model_dir}' ({config.model_type}) cannot be loaded as a {kind} language "
                         f"model: {exc}. Use `pretrain {'clm' if objective == 'mlm' else 'mlm'}` "
                         "or another model.") from exc
    except OSError as exc:
        raise ModelError(f"cannot load model weights from '{model_dir}': {exc}") from exc
    fresh = sorted({k.rsplit(".", 2)[0] for k in info.get("missing_keys", [])})
    if fresh:
        log.warning("%s: %s not in the checkpoint and start%s from random weights (%s)",
                    model_dir, "these weights are", "", ", ".join(fresh[:6]))
    return model
