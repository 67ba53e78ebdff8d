"""Structural edits of transformer encoders: remove attention heads, remove layers.

transformers 5 dropped ``PreTrainedModel.prune_heads``, so heads are removed
here by slicing the query/key/value rows and the output projection's columns
that belong to a head (what v4's ``prune_heads`` did). The attention modules of
the supported families reshape with ``view(..., -1, head_size)``, so a layer
with fewer heads needs no other change.

A head-pruned model is saved with ``pruned_heads`` in its config.json (layer ->
original head indices, v4's key and format). transformers 5 cannot build such
a model from the config alone (every layer gets all heads), so
``load_sequence_classifier`` builds the full model, removes the same heads, then
loads the weights.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttentionLayout:
    """Where the attention pieces live in one model family (paths are dotted attributes)."""

    layers: str  # from the base model to the ModuleList of layers
    attention: str  # from a layer to the module owning q/k/v
    qkv: tuple[str, str, str]
    output: str  # from a layer to the Linear that mixes the heads back
    head_count_attrs: tuple[str, ...]  # attributes of the attention module to keep in sync


BERT_LAYOUT = AttentionLayout("encoder.layer", "attention.self", ("query", "key", "value"),
                              "attention.output.dense", ("num_attention_heads",))
DISTILBERT_LAYOUT = AttentionLayout("transformer.layer", "attention", ("q_lin", "k_lin", "v_lin"),
                                    "attention.out_lin", ("n_heads",))
# BERT-style attention modules; MPNet is absent on purpose: its relative position
# bias is one (heads x buckets) table shared by all layers, so one layer cannot
# lose heads alone. Removing whole layers works for it.
HEAD_LAYOUTS = {
    "bert": BERT_LAYOUT, "roberta": BERT_LAYOUT, "xlm-roberta": BERT_LAYOUT,
    "camembert": BERT_LAYOUT, "electra": BERT_LAYOUT, "distilbert": DISTILBERT_LAYOUT,
}
LAYER_PATHS = ("encoder.layer", "transformer.layer")


def _get(obj: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        obj = getattr(obj, name)
    return obj


def _set(obj: Any, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for name in parents:
        obj = getattr(obj, name)
    setattr(obj, last, value)


def head_layout(model: Any) -> AttentionLayout:
    model_type = getattr(model.config, "model_type", "?")
    layout = HEAD_LAYOUTS.get(model_type)
    if layout is None:
        raise ModelError(
            f"removing attention heads is not supported for '{model_type}' models (supported: "
            f"{', '.join(sorted(HEAD_LAYOUTS))}). Remove whole layers instead (--layers N)."
        )
    return layout


def encoder_layers(model: Any) -> Any:
    """The ModuleList of transformer layers of a sequence classifier."""
    return _get(model.base_model, _layer_path(model))


def _layer_path(model: Any) -> str:
    for path in LAYER_PATHS:
        try:
            _get(model.base_model, path)
            return path
        except AttributeError:
            continue
    raise ModelError(
        f"cannot find the transformer layers of this '{model.config.model_type}' model "
        f"(looked for {', '.join(LAYER_PATHS)} under the base model)."
    )


def head_size(model: Any) -> int:
    return int(model.config.hidden_size // model.config.num_attention_heads)


def heads_per_layer(model: Any) -> list[int]:
    """Current number of heads in each layer (after any pruning)."""
    layout = head_layout(model)
    size = head_size(model)
    return [_get(layer, f"{layout.attention}.{layout.qkv[0]}").out_features // size
            for layer in encoder_layers(model)]


def remaining_heads(model: Any) -> list[list[int]]:
    """Original indices of the heads still present, per layer."""
    pruned = normalized_pruned_heads(getattr(model.config, "pruned_heads", None) or {})
    total = int(model.config.num_attention_heads)
    return [[h for h in range(total) if h not in pruned.get(i, set())]
            for i in range(len(encoder_layers(model)))]


def normalized_pruned_heads(pruned: Mapping[Any, Sequence[int]]) -> dict[int, set[int]]:
    return {int(layer): {int(h) for h in heads} for layer, heads in pruned.items() if heads}


def remove_heads(model: Any, heads: Mapping[int, Sequence[int]]) -> None:
    """Remove heads in place. ``heads``: layer -> *original* head indices to remove.

    Heads already removed are ignored, so applying a model's full ``pruned_heads``
    to an unpruned copy, or adding more heads to a pruned one, both work. Records
    the union in ``model.config.pruned_heads``.
    """
    import torch
    from transformers.pytorch_utils import prune_linear_layer

    layout = head_layout(model)
    size = head_size(model)
    layers = encoder_layers(model)
    already = normalized_pruned_heads(getattr(model.config, "pruned_heads", None) or {})
    total = int(model.config.num_attention_heads)
    for layer_idx, to_remove in heads.items():
        layer_idx = int(layer_idx)
        if not 0 <= layer_idx < len(layers):
            raise ModelError(f"layer {layer_idx} does not exist (the model has {len(layers)})")
        gone = already.get(layer_idx, set())
        present = [h for h in range(total) if h not in gone]
        new = {int(h) for h in to_remove} - gone
        if not new:
            continue
        keep_heads = [h for h in present if h not in new]
        if not keep_heads:
            raise ModelError(f"cannot remove every head of layer {layer_idx}; keep at least one")
        # positions of the kept heads inside the *current* (possibly pruned) layer
        positions = [present.index(h) for h in keep_heads]
        index = torch.cat([torch.arange(p * size, (p + 1) * size) for p in positions]).long()
        layer = layers[layer_idx]
        attention = _get(layer, layout.attention)
        for name in layout.qkv:
            setattr(attention, name, prune_linear_layer(getattr(attention, name), index, dim=0))
        _set(layer, layout.output, prune_linear_layer(_get(layer, layout.output), index, dim=1))
        for attr in layout.head_count_attrs:
            if hasattr(attention, attr):
                setattr(attention, attr, len(keep_heads))
        if hasattr(attention, "all_head_size"):
            attention.all_head_size = len(keep_heads) * size
        already[layer_idx] = gone | new
    model.config.pruned_heads = {str(k): sorted(v) for k, v in sorted(already.items()) if v}


def keep_layers(model: Any, keep: Sequence[int]) -> None:
    """Keep only the layers at ``keep`` (in that order); updates the config."""
    import torch

    layers = encoder_layers(model)
    keep = list(keep)
    if not keep or any(not 0 <= i < len(layers) for i in keep):
        raise ModelError(f"invalid layers to keep {keep} for a {len(layers)}-layer model")
    new = torch.nn.ModuleList([layers[i] for i in keep])
    for position, layer in enumerate(new):
        # attention modules of some families remember their index for caches
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = position
    _set(model.base_model, _layer_path(model), new)
    model.config.num_hidden_layers = len(keep)
    pruned = normalized_pruned_heads(getattr(model.config, "pruned_heads", None) or {})
    if pruned:
        model.config.pruned_heads = {str(new_i): sorted(pruned[old_i])
                                     for new_i, old_i in enumerate(keep) if pruned.get(old_i)}


def count_parameters(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def attention_outputs(model: Any) -> Iterator[tuple[int, Any]]:
    """(layer index, the Linear whose input is the concatenated heads) per layer."""
    layout = head_layout(model)
    for i, layer in enumerate(encoder_layers(model)):
        yield i, _get(layer, layout.output)


def load_sequence_classifier(model_dir: Path) -> Any:
    """Load a saved classifier, head-pruned or not."""
    import json

    config_path = model_dir / "config.json"
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read '{config_path}': {exc}") from exc
    if not raw.get("pruned_heads"):
        from lmforge.models.build import load_classifier

        return load_classifier(model_dir)
    return _load_head_pruned(model_dir)


def _load_head_pruned(model_dir: Path) -> Any:
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from lmforge.models.registry import offline_env

    offline_env()
    config = AutoConfig.from_pretrained(str(model_dir))
    pruned = normalized_pruned_heads(config.pruned_heads)
    config.pruned_heads = {}
    model = AutoModelForSequenceClassification.from_config(config)
    remove_heads(model, pruned)
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise ModelError(f"'{model_dir}' has no *.safetensors weights")
    state: dict[str, Any] = {}
    for file in files:
        state.update(load_file(str(file)))
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ModelError(
            f"'{model_dir}': the weights do not match the pruned architecture in config.json "
            f"(missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}). "
            "The model directory is damaged; prune the original run again."
        )
    model.eval()
    return model
