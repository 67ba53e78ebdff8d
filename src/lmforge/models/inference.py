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


def pool_windows(row_logits: Any, owner: Sequence[int] | None, n_texts: int) -> Any:
    """Each text's logits: the mean of its windows' rows (``Encoded.owner``); rows
    unchanged when every text is one row."""
    import numpy as np

    if owner is None:
        return row_logits
    owner_arr = np.asarray(owner, dtype=np.int64)
    pooled = np.zeros((n_texts, row_logits.shape[1]), dtype=np.float64)
    np.add.at(pooled, owner_arr, row_logits)
    counts = np.bincount(owner_arr, minlength=n_texts)
    return (pooled / counts[:, None]).astype(np.float32)


def text_logits(model: Any, encoded: Any, pad_id: int, batch_size: int) -> Any:
    """Logits per text of an ``Encoded`` (windows pooled)."""
    rows = forward_logits(model, encoded.input_ids, pad_id, batch_size)
    return pool_windows(rows, encoded.owner, encoded.n_texts)


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
