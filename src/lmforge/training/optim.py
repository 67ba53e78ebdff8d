"""AdamW with the usual exclusions (fused kernel), and linear warmup + linear decay."""

from __future__ import annotations

from typing import Any

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
    if setting == "auto" and (weight.shape[0] <= 100_000 or weight.numel() <= 0.5 * total):
        return 0
    weight.requires_grad_(False)
    return int(weight.numel())


def linear_warmup_decay(optimizer: Any, warmup_steps: int, total_steps: int) -> Any:
    import torch

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
