"""Batched forward passes over pre-tokenized texts, streamed to the CPU."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lmforge.data.tokenize import pad_batch, sorted_batches


def forward_logits(
    model: Any,
    input_ids: Sequence[list[int]],
    pad_id: int,
    batch_size: int,
    device: Any = None,
    on_batch: Callable[[Any, list[int]], None] | None = None,
) -> Any:
    """Logits for every row, in input order, as a float32 numpy array (n, k).

    Batches are sorted by length to cut padding. Each batch's logits go to the
    CPU right away, so nothing grows on the accelerator. ``on_batch(logits,
    indices)`` sees each batch's device logits (for streaming losses).
    """
    import numpy as np
    import torch

    device = device or next(model.parameters()).device
    n_out = model.config.num_labels
    result = np.zeros((len(input_ids), n_out), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for idx in sorted_batches([len(r) for r in input_ids], batch_size):
                batch = pad_batch([input_ids[i] for i in idx], pad_id)
                batch = {k: v.to(device) for k, v in batch.items()}
                logits = model(**batch).logits
                if on_batch is not None:
                    on_batch(logits, idx)
                result[idx] = logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    return result


def logits_to_outputs(task: str, logits: Any) -> Any:
    """Probabilities (single: softmax, multi: sigmoid) or values (regression)."""
    import numpy as np

    if task == "single":
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)
    if task == "multi":
        return 1.0 / (1.0 + np.exp(-logits))
    return logits[:, 0]
