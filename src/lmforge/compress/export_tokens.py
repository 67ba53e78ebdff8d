"""``lmforge export TOKEN_RUN --onnx [--int8]``: a token-classification run as an ONNX run.

The graph is the run's ``AutoModelForTokenClassification``: ids + mask in, logits per
position out (batch and sequence axes dynamic). Before anything is written, the ONNX
logits of every token of the test sentences (windows stitched, as predict reads them) are
compared with PyTorch's; above the tolerance the export fails and nothing is left behind.
The exported run holds ``model/model.onnx`` beside the tokenizer and ``tokens.json``, and
loads as the same ``TokenTagger`` (ONNX Runtime backend).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from lmforge.compress.config import ExportConfig
from lmforge.errors import ModelError

log = logging.getLogger(__name__)

PARITY_SENTENCES = 64
SAMPLE_SENTENCES = [["John", "Smith", "visited", "Paris", "."], ["张", "伟", "去", "北", "京", "。"]]


def export_token_graph(model: Any, tokenizer: Any, path: Path, opset: int,
                       segments: bool = False) -> None:
    """ids + mask (+ segment ids for a ``--word-segments`` run) in, logits per position out."""
    import warnings

    import torch

    from lmforge.compress.export import logits_only

    sample = tokenizer(["an example to trace", "a second, longer example to trace the graph"],
                       padding=True, return_tensors="pt")
    inputs = ["input_ids", "attention_mask"]
    if segments:
        sample["token_type_ids"] = (torch.arange(sample["input_ids"].shape[1]) % 2).expand_as(
            sample["input_ids"]).contiguous()
        inputs.append("token_type_ids")
    axes = {name: {0: "batch", 1: "sequence"} for name in [*inputs, "logits"]}
    model = model.to("cpu").float().eval()
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(logits_only(model), tuple(sample[name] for name in inputs),
                              str(path), input_names=inputs,
                              output_names=["logits"], dynamic_axes=axes, opset_version=opset,
                              do_constant_folding=True, dynamo=False)
    except Exception as exc:  # the exporter raises many untyped errors; all mean the same here
        raise ModelError(f"ONNX export of this '{model.config.model_type}' token classifier "
                         f"failed: {exc}. Try another --opset, or serve the PyTorch run.") from exc


def token_parity(reference: Any, candidate: Any, sentences: list[list[str]], tolerance: float,
                 what: str) -> dict[str, Any]:
    """Max abs difference of the per-token logits; ModelError above ``tolerance``."""
    import numpy as np

    candidate.batch_size, saved = 7, candidate.batch_size  # other padding than the reference
    try:
        expected = np.concatenate(reference.token_logits(sentences))
        got = np.concatenate(candidate.token_logits(sentences))
    finally:
        candidate.batch_size = saved
    diff = float(np.abs(expected.astype(np.float64) - got).max())
    agreement = float((expected.argmax(axis=1) == got.argmax(axis=1)).mean())
    log.info("%s vs PyTorch on %d sentences: max abs diff on token logits %.3g (tolerance %.3g), "
             "same tag for %.1f%% of tokens", what, len(sentences), diff, tolerance,
             100 * agreement)
    if not diff <= tolerance:
        raise ModelError(f"{what} does not match PyTorch: max abs difference on token logits "
                         f"{diff:.3g} is above the tolerance {tolerance:g} ({len(sentences)} "
                         "sentences). Nothing was written. Try another --opset; for int8, raise "
                         "--int8-tolerance knowingly.")
    return {"max_abs_diff": diff, "tolerance": tolerance, "same_tag": agreement,
            "sentences": len(sentences)}


def parity_sentences(settings: dict[str, Any], max_length: int) -> list[list[str]]:
    """The run's test sentences (or its data's first ones), the samples, and one sentence
    longer than a window, so the stitching is compared too."""
    from lmforge.data.conll import read_token_file

    sentences: list[list[str]] = []
    for key in ("test", "data"):
        path = settings.get(key)
        if path and Path(path).is_file():
            try:
                sentences = [s.tokens for s in read_token_file(path).sentences[:PARITY_SENTENCES]]
            except Exception as exc:  # noqa: BLE001 - parity falls back to the samples
                log.warning("parity sentences: cannot read %s (%s); using samples only", path, exc)
            break
    long_sentence = [w for s in SAMPLE_SENTENCES for w in s] * (1 + max_length // 8)
    return sentences + SAMPLE_SENTENCES + [long_sentence]


def export_token_run(config: ExportConfig) -> Any:
    from lmforge.compress.export import CompressResult, quantize_int8
    from lmforge.inference.onnx import ONNX_FILE
    from lmforge.inference.tokens import TOKENS_FILE, load_token_tagger
    from lmforge.rundir import (
        TOKENS,
        atomic_run_dir,
        check_run_dir,
        read_config,
        read_json,
        refuse_existing,
        write_json,
        write_manifest,
        write_text_atomic,
    )

    config.validate()
    source = check_run_dir(config.run_dir)
    if (source / "model" / ONNX_FILE).is_file():
        raise ModelError(f"'{source}' already holds an ONNX model (model/model.onnx). Export the "
                         "PyTorch run it came from instead.")
    out = Path(config.out)
    refuse_existing(out, config.overwrite)
    settings = read_config(source)
    original = load_token_tagger(source, settings)
    sentences = parity_sentences(settings, original.max_length)
    with atomic_run_dir(out, config.overwrite) as tmp:
        model_dir = tmp / "model"
        model_dir.mkdir()
        original.tokenizer.save_pretrained(str(model_dir))
        original.model.config.save_pretrained(str(model_dir))
        for name in ("config.yaml", TOKENS_FILE):
            shutil.copy2(source / name, tmp / name)
        write_manifest(tmp, TOKENS)
        fp32_path = model_dir / "model.fp32.onnx"
        export_token_graph(original.model, original.tokenizer, fp32_path, config.opset,
                           original.segments)
        fp32 = load_token_tagger(tmp, settings, onnx_path=fp32_path)
        parity = {"fp32": token_parity(original, fp32, sentences, config.tolerance, "ONNX fp32")}
        final = fp32_path
        if config.int8:
            int8_path = model_dir / "model.int8.onnx"
            quantize_int8(fp32_path, int8_path)
            int8 = load_token_tagger(tmp, settings, onnx_path=int8_path)
            parity["int8"] = token_parity(original, int8, sentences, config.int8_tolerance,
                                          "ONNX int8")
            final = int8_path
        os.replace(final, model_dir / ONNX_FILE)
        for leftover in model_dir.glob("model.*.onnx"):
            leftover.unlink()
        metrics = read_json(source / "metrics.json")
        details = {"source": str(source.resolve()), "format": "onnx", "int8": config.int8,
                   "opset": config.opset, "parity": parity}
        exported = {k: metrics[k] for k in ("test", "validation", "data", "baseline")
                    if k in metrics}
        exported["export"] = details
        write_json(tmp / "metrics.json", exported)
        lines = [f"# Export of {source.name} (token classification)", ""]
        for name, p in parity.items():
            lines.append(f"- ONNX {name} vs PyTorch: max abs diff on token logits "
                         f"{p['max_abs_diff']:.2g} (tolerance {p['tolerance']:g}), same tag on "
                         f"{100 * p['same_tag']:.1f}% of the tokens of {p['sentences']} sentences.")
        lines.append(f"- This directory's model is model/{ONNX_FILE}; the test scores in "
                     "metrics.json are the PyTorch run's.")
        report = tmp / "report.md"
        write_text_atomic(report, "\n".join(lines) + "\n")
    log.info("wrote %s", out)
    return CompressResult(out=out, rows=[], report=out / "report.md", details=details)
