"""ONNX backend: a run whose ``model/`` holds ``model.onnx`` (``lmforge export``), ready to
predict on CPU with ONNX Runtime.

Same surface as the PyTorch ``Classifier``; text goes through the same cleaning,
tokenization and truncation as in training, so both backends see identical token ids.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError
from lmforge.inference.surface import TokenizedRun, pool_windows

log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.model")


@dataclass
class OnnxClassifier(TokenizedRun):
    """A run directory's ONNX model (``model``: the onnxruntime.InferenceSession), ready to
    predict on CPU with ONNX Runtime."""

    onnx_path: Path
    backend: str = "onnx"

    def logits(self, texts: Sequence[str]) -> Any:
        import numpy as np

        from lmforge.data.tokenize import sorted_batches
        from lmforge.inference.torch import encode_for_model, pad_id

        encoded = encode_for_model(self, texts)
        input_names = {i.name for i in self.model.get_inputs()}
        rows = encoded.input_ids
        pad = pad_id(self.tokenizer)
        result = np.zeros((len(rows), len(self.labels) or 1), dtype=np.float32)
        for idx in sorted_batches([len(r) for r in rows], self.batch_size):
            feed = pad_numpy([rows[i] for i in idx], pad)
            if "token_type_ids" in input_names:  # graphs exported by other tools may want it
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            result[idx] = self.model.run(None, {k: v for k, v in feed.items()
                                                if k in input_names})[0]
        return pool_windows(result, encoded.owner, encoded.n_texts)


def pad_numpy(rows: Sequence[list[int]], pad_id: int) -> dict[str, Any]:
    """``pad_batch`` without torch: int64 ids and mask padded to the longest row."""
    import numpy as np

    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def has_tokenizer(model_dir: Path) -> bool:
    return any((model_dir / name).is_file() for name in TOKENIZER_FILES)


def create_session(onnx_path: Path, num_threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if num_threads:
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"cannot load the ONNX model '{onnx_path}': {exc}") from exc
