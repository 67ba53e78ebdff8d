"""AdamW with the usual exclusions (fused kernel), and linear warmup + linear decay."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
# a vocabulary this large (multilingual: multilingual-e5-small has 250k pieces) is mostly rows
# one task or one language never touches: --freeze-embeddings auto and --output-vocabulary auto
LARGE_VOCABULARY = 100_000
NO_DECAY_MARKERS = ("bias", "LayerNorm.weight", "layer_norm.weight", "layernorm.weight", "norm.weight")


def build_optimizer(model: Any, lr: float, weight_decay: float) -> Any:
    """AdamW; biases and normalisation weights get no weight decay (BERT recipe)."""
    import torch

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if any(m in name for m in NO_DECAY_MARKERS) else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # fused: one kernel updates every parameter (CPU and CUDA since torch 2.4) instead of a
    # Python-level loop over tensors; same arithmetic as the default implementation
    return torch.optim.AdamW(groups, lr=lr, fused=fused_supported(model))


def fused_supported(model: Any) -> bool:
    """Whether every trainable parameter is a float tensor on a device fused AdamW runs on."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    return bool(params) and all(
        p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float16,
                                                         torch.bfloat16) for p in params)


def freeze_word_embeddings(model: Any, setting: str) -> int:
    """Freeze the input word embeddings per --freeze-embeddings; return how many weights it froze.

    ``auto`` freezes them for a large multilingual vocabulary (over 100k rows and over half of
    the model's weights): it costs most of each step's backward pass and AdamW update, while
    fine-tuning on one task touches few of its rows (most of them rarely). Position and type
    embeddings stay trainable."""
    if setting == "no":
        return 0
    weight = model.get_input_embeddings().weight
    total = sum(p.numel() for p in model.parameters())
    if setting == "auto" and (weight.shape[0] <= LARGE_VOCABULARY or weight.numel() <= 0.5 * total):
        return 0
    weight.requires_grad_(False)
    return int(weight.numel())


def apply_freezing(model: Any, freeze_embeddings: str, freeze_layers: int) -> dict[str, int]:
    """--freeze-embeddings then --freeze-layers on a fresh model, logged; the counts go to
    ``metrics.json`` ``train``."""
    words = freeze_word_embeddings(model, freeze_embeddings)
    layers = freeze_bottom_layers(model, freeze_layers)
    total = sum(p.numel() for p in model.parameters())
    if words:
        log.info(
            "word embeddings frozen (%s weights of %s; --freeze-embeddings %s)", f"{words:,}",
            f"{total:,}", freeze_embeddings)
    if layers:
        log.info(
            "embeddings and the bottom %d layers frozen (%s more weights; --freeze-layers)",
            freeze_layers, f"{layers:,}")
    return {"frozen_embedding_weights": words, "frozen_layers": freeze_layers,
            "frozen_weights": words + layers,
            "trained_weights": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def freeze_bottom_layers(model: Any, n_layers: int) -> int:
    """Freeze the embeddings and the first ``n_layers`` transformer layers (--freeze-layers);
    return how many weights that froze. Nothing below the lowest trainable layer needs a
    gradient, so autograd's backward pass stops there."""
    from lmforge.errors import ConfigError

    if n_layers == 0:
        return 0
    layers = transformer_layers(model)
    if layers is None:
        raise ConfigError(f"freeze_layers: cannot find the transformer layers of this "
                          f"{type(model).__name__}; use --freeze-layers 0")
    if n_layers >= len(layers):
        raise ConfigError(f"freeze_layers: the encoder has {len(layers)} layers, so at most "
                          f"{len(layers) - 1} can be frozen (the head needs one to adapt); "
                          f"got {n_layers}")
    frozen = 0
    # the whole embeddings block where there is one: positions, types and LayerNorm too
    embeddings = getattr(model.base_model, "embeddings", None)
    if embeddings is None:
        embeddings = model.get_input_embeddings()
    for module in (embeddings, *layers[:n_layers]):
        for param in module.parameters():
            if param.requires_grad:
                param.requires_grad_(False)
                frozen += param.numel()
    return frozen


def transformer_layers(model: Any) -> Any:
    """The list of transformer blocks of a transformers encoder (BERT, XLM-R, MPNet,
    DistilBERT layouts), or None."""
    base = model.base_model
    for path in ("encoder.layer", "transformer.layer", "layers"):
        found = base
        for part in path.split("."):
            found = getattr(found, part, None)
        if found is not None:
            return found
    return None


def linear_warmup_decay(optimizer: Any, warmup_steps: int, total_steps: int) -> Any:
    import torch

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
