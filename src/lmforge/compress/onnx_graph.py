"""The exported graph made fast: ONNX Runtime's transformer fusion, then int8 quantization.

Fusion (``onnxruntime.transformers.optimizer``, ``model_type="bert"``) replaces each
layer's attention sub-graph by one ``Attention`` op, the embeddings by
``EmbedLayerNormalization``, residual + LayerNorm by ``SkipLayerNormalization`` and
bias + GELU by ``BiasGelu``. It recognises the attention pattern of transformers'
*eager* attention only: the SDPA graph (transformers' default) keeps its attention
unfused, so the model is traced with eager attention (``eager_attention``); both
compute the same logits.

Quantization variants (``ExportConfig``): dynamic (weights int8, activations quantized
per batch at run time; on the fused graph) or static (activation ranges calibrated on
training texts; on the plain graph, whose tensors the static quantizer can read),
per-channel or per-tensor weight scales, every quantizable op or MatMul only. On a fused
graph the quantizer must be told the element type of tensors it cannot infer
(``DefaultTensorType``), or it stops on the fused ops' outputs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

log = logging.getLogger(__name__)

# transformers model types whose encoder the "bert" fusion recognises
FUSABLE_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra"})
# the fused ops worth counting in the run's record (the optimizer lists every kind it knows)
FUSED_OPS = ("Attention", "EmbedLayerNormalization", "SkipLayerNormalization", "BiasGelu",
             "FastGelu", "Gelu", "LayerNormalization")


@contextlib.contextmanager
def eager_attention(model: Any) -> Iterator[bool]:
    """``model`` with transformers' eager attention while inside (the pattern ONNX Runtime
    fuses); its own implementation back afterwards. Yields whether the switch happened."""
    before = getattr(model.config, "_attn_implementation", None)
    switch = getattr(model, "set_attn_implementation", None)
    if before in (None, "eager") or switch is None:
        yield before == "eager"
        return
    try:
        switch("eager")
    except (ValueError, NotImplementedError) as exc:  # a model type without eager attention
        log.info("cannot trace %s with eager attention (%s): attention stays unfused",
                 model.config.model_type, exc)
        yield False
        return
    try:
        yield True
    finally:
        switch(before)


def fusion_shape(config: Any) -> tuple[int, int]:
    """(num_heads, hidden_size) for the optimizer; (0, 0) lets it read them from the graph,
    which it must for a head-pruned model (layers with different head counts)."""
    if getattr(config, "pruned_heads", None):
        return 0, 0
    return int(getattr(config, "num_attention_heads", 0)), int(getattr(config, "hidden_size", 0))


def can_fuse(config: Any) -> bool:
    return getattr(config, "model_type", None) in FUSABLE_MODEL_TYPES


def optimize_graph(src: Path, dst: Path, config: Any) -> dict[str, int]:
    """Write the fused graph of ``src`` to ``dst``; returns how many of each fused op it has."""
    from onnxruntime.transformers import optimizer

    heads, hidden = fusion_shape(config)
    with _quiet_root_logger():
        try:
            model = optimizer.optimize_model(str(src), model_type="bert", num_heads=heads,
                                             hidden_size=hidden, opt_level=0, use_gpu=False)
        except Exception as exc:  # the optimizer raises untyped errors on graphs it misreads
            raise ModelError(
                f"ONNX Runtime's transformer optimizer failed on this '{config.model_type}' "
                f"graph: {exc}. Export without fusion (--no-optimize)."
            ) from exc
        stats = model.get_fused_operator_statistics()
        model.save_model_to_file(str(dst))
    counts = {op: int(stats.get(op, 0)) for op in FUSED_OPS if stats.get(op)}
    log.info("fused graph: %s", ", ".join(f"{op} x{n}" for op, n in counts.items()) or "nothing")
    return counts


def fused_op_counts(onnx_path: Path) -> dict[str, int]:
    """How many of each fused op (``FUSED_OPS``) the graph at ``onnx_path`` holds."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    counts: dict[str, int] = {}
    for node in graph.node:
        if node.op_type in FUSED_OPS:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


class CalibrationBatches:
    """``onnxruntime.quantization.CalibrationDataReader``: padded batches of token ids."""

    def __init__(self, batches: Sequence[dict[str, Any]]) -> None:
        self._batches = iter(batches)

    def get_next(self) -> dict[str, Any] | None:
        return next(self._batches, None)

    def rewind(self) -> None:  # pragma: no cover - the calibrator reads the batches once
        pass


def quantize_graph(src: Path, dst: Path, *, mode: str = "dynamic", ops: str = "all",
                   per_channel: bool = True,
                   calibration: Sequence[dict[str, Any]] | None = None) -> None:
    """int8 copy of the graph at ``src``: ``mode`` dynamic or static (``calibration``: the
    feeds the activation ranges are read from), ``ops`` all or matmul."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    op_types = ["MatMul"] if ops == "matmul" else None
    with _quiet_root_logger():
        if mode == "dynamic":
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                             per_channel=per_channel, op_types_to_quantize=op_types,
                             extra_options=extra)
            return
        if not calibration:
            raise ModelError("static int8 needs calibration texts: the run's training split "
                             "is empty or missing. Pass --calibration-data FILE.")
        # QOperator: integer kernels (QLinearMatMul, QAttention) rather than Q/DQ pairs
        # around float ops, which ONNX Runtime on CPU would run in float again
        from onnxruntime.quantization.shape_inference import quant_pre_process

        # the quantizer needs every tensor's type; ONNX shape inference gives it (the
        # symbolic one fails on the truncation's Min(max_length, sequence))
        inferred = dst.with_suffix(".shapes.onnx")
        quant_pre_process(str(src), str(inferred), skip_optimization=True,
                          skip_symbolic_shape=True)
        try:
            quantize_static(str(inferred), str(dst), CalibrationBatches(calibration),
                            quant_format=QuantFormat.QOperator, per_channel=per_channel,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=op_types,
                            calibrate_method=CalibrationMethod.MinMax,
                            extra_options={**extra, "CalibMovingAverage": True})
        finally:
            inferred.unlink(missing_ok=True)


def calibration_feeds(clf: Any, texts: Sequence[str], batch_size: int = 32) -> list[dict[str, Any]]:
    """``texts`` encoded as training did (``clf``: a loaded run), padded into ONNX feeds."""
    from lmforge.data.tokenize import sorted_batches
    from lmforge.inference.onnx import pad_numpy
    from lmforge.inference.torch import encode_for_model, pad_id

    rows = encode_for_model(clf, texts).input_ids
    pad = pad_id(clf.tokenizer)
    return [pad_numpy([rows[i] for i in idx], pad)
            for idx in sorted_batches([len(r) for r in rows], batch_size)]


def flipped_share(reference: Any, candidate: Any) -> float:
    """Share of rows whose argmax differs between two logit arrays."""
    import numpy as np

    if len(reference) == 0:
        return 0.0
    return float(np.mean(np.argmax(reference, axis=1) != np.argmax(candidate, axis=1)))


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    # ONNX Runtime's optimizer and quantizer log advice (pre-processing, shape inference)
    # through the root logger; none of it applies to the graphs exported here
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
