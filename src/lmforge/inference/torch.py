"""PyTorch backend: a transformers classifier (fine-tuned, pruned, distilled or SetFit)
ready to predict, and the batched forward passes it runs.

Text goes through the same cleaning, tokenization and truncation (or windows) as
in training (``encode_for_model``), so every backend sees identical token ids.
torch is imported inside the functions that need it (``import lmforge`` stays light).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lmforge.data.tokenize import pad_batch, sorted_batches
from lmforge.inference.long_texts import note_long_texts
from lmforge.inference.surface import TokenizedRun, as_texts, check_inputs, pool_windows


@dataclass
class Classifier(TokenizedRun):
    """A run directory's model, ready to predict. Create with ``lmforge.load(RUN_DIR)``."""

    def logits(self, texts: Sequence[str]) -> Any:
        encoded = encode_for_model(self, texts)
        return text_logits(self.model, encoded, pad_id(self.tokenizer), self.batch_size)

    def to_int8(self) -> Classifier:
        """A copy whose Linear layers are int8 (PyTorch dynamic quantization: int8 weights,
        activations quantized per batch), for faster CPU prediction without an export step.
        Opt-in: it changes the logits a little (``lmforge export --int8`` reports by how
        much for ONNX); this run's own weights stay as they are."""
        import copy

        import torch

        model = copy.deepcopy(self.model).to("cpu").float().eval()
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear},
                                                           dtype=torch.qint8)
        return dataclasses.replace(self, model=quantized)


def encode_for_model(clf: Any, texts: Sequence[str]) -> Any:
    """Texts -> token ids the way training saw them (same cleaning, ``max_length``,
    truncation or windows), for any backend with ``tokenizer``, ``max_length``,
    ``truncation`` and ``settings`` (the run's config.yaml)."""
    from lmforge.data.clean import clean_text
    from lmforge.data.tokenize import encode_texts, window_spec_from

    texts = as_texts(texts)
    settings = getattr(clf, "settings", None) or {}
    check_inputs(texts, bool(settings.get("pair")))
    windows = window_spec_from(settings)
    encoded = encode_texts(clf.tokenizer, [clean_text(t) for t in texts],
                           clf.max_length, clf.truncation, windows)
    note_long_texts(encoded.n_truncated, len(texts), clf.max_length,
                    None if windows is not None else clf.truncation)
    return encoded


def pad_id(tokenizer: Any) -> int:
    """The tokenizer's padding id (0 when it has none)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


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


def text_logits(model: Any, encoded: Any, pad_id: int, batch_size: int) -> Any:
    """Logits per text of an ``Encoded`` (windows pooled)."""
    rows = forward_logits(model, encoded.input_ids, pad_id, batch_size)
    return pool_windows(rows, encoded.owner, encoded.n_texts)


