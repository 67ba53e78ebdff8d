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
        wants_types = "token_type_ids" in self.input_names
        rows = encoded.input_ids
        pad = pad_id(self.tokenizer)
        result = np.zeros((len(rows), len(self.labels) or 1), dtype=np.float32)
        for idx in sorted_batches([len(r) for r in rows], self.batch_size,
                                  ONNX_RUN_OVERHEAD_TOKENS):
            feed = pad_numpy([rows[i] for i in idx], pad)
            if wants_types and "token_type_ids" not in feed:  # other tools' graphs want it
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            elif not wants_types:  # pairs of a model without segment embeddings (XLM-R)
                feed.pop("token_type_ids", None)
            result[idx] = self.model.run(self.output_names, feed)[0]
        return pool_windows(result, encoded.owner, encoded.n_texts)

    @property
    def input_names(self) -> frozenset[str]:
        """The graph's inputs, read once (``get_inputs`` builds new objects on every call)."""
        names = self.__dict__.get("_input_names")
        if names is None:
            names = self.__dict__["_input_names"] = frozenset(i.name for i in
                                                              self.model.get_inputs())
        return names

    @property
    def output_names(self) -> list[str]:
        """The first output only (the logits), so ONNX Runtime fetches nothing else."""
        names = self.__dict__.get("_output_names")
        if names is None:
            names = self.__dict__["_output_names"] = [self.model.get_outputs()[0].name]
        return names


# A pass of ONNX Runtime costs far less fixed overhead than one of PyTorch (no Python per
# layer): about as much as this many padding tokens, so ``sorted_batches`` cuts a call's
# texts into more, tighter passes than for PyTorch (``FORWARD_OVERHEAD_TOKENS``).
ONNX_RUN_OVERHEAD_TOKENS = 16


def pad_numpy(rows: Sequence[list[int]], pad_id: int) -> dict[str, Any]:
    """``pad_batch`` without torch: int64 ids and mask padded to the longest row (and the
    segment ids of sentence pairs)."""
    import numpy as np

    from lmforge.data.tokenize import PairIds

    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max())
    mask = (np.arange(width) < lengths[:, None]).astype(np.int64)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    ids[mask.astype(bool)] = np.fromiter((t for r in rows for t in r), dtype=np.int64,
                                         count=int(lengths.sum()))
    feed = {"input_ids": ids, "attention_mask": mask}
    if any(isinstance(r, PairIds) for r in rows):  # sentence pairs: their segment ids
        types = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            if isinstance(row, PairIds):
                types[i, : len(row)] = row.token_type_ids
        feed["token_type_ids"] = types
    return feed


def has_tokenizer(model_dir: Path) -> bool:
    return any((model_dir / name).is_file() for name in TOKENIZER_FILES)


def create_session(onnx_path: Path, num_threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # one graph runs at a time: all threads inside ops (intra-op; ONNX Runtime's default is
    # one per physical core), none waiting between them
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if num_threads:
        options.intra_op_num_threads = num_threads
    try:
        return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"cannot load the ONNX model '{onnx_path}': {exc}") from exc
