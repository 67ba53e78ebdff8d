"""CPU inference: HF pipeline vs lmforge PyTorch (fp32, int8) vs lmforge ONNX (fused fp32, int8).

    .venv/bin/python bench/inference.py RUN_DIR [--data CSV] [--threads 2] [--variants ...]

RUN_DIR is a trained PyTorch run, e.g. from
``lmforge train --recipe sentiment-en-demo --out runs/demo``. The script exports
it the way ``lmforge export`` does (traced with eager attention, fused by ONNX
Runtime's transformer optimizer) in a temp dir, quantizes the fused graph to each
int8 variant asked for (checked against PyTorch), then runs each contender on the
bundled Rotten Tomatoes test split (or --data) with the same thread count:

- accuracy: every text, in input order, in groups of 32; for each int8 variant also
  the accuracy change against ONNX fp32 and the share of flipped top labels;
- speed: --rounds rounds (at least 3); in each, every contender in turn runs the
  first --timing-texts texts in groups of 32 and the first --batch1-texts texts one
  call each. Each contender's median round is reported with the min and max, so
  a burst of load from another process shows up as spread, not as a result.

Each call of a contender gets a list of 32 (or 1) texts, the way a service or a
user's loop calls it; the HF pipeline (the baseline of every ratio, measured in this
same run) gets ``batch_size`` equal to the list. The 1-minute load average is
printed before and after: figures from a machine with load above its core count
are loaded-machine figures.

The HF pipeline truncates at the head only (lmforge: head+tail, as in training),
which can move its accuracy a little.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
DATA = Path(__file__).resolve().parents[1] / "src" / "lmforge" / "recipes" / "data"


def read_test(path: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r[text_col] for r in rows], [r[label_col] for r in rows]


def timed_batches(predict: Callable[[list[str]], list[str]], texts: Sequence[str],
                  batch: int) -> tuple[float, list[str], list[float]]:
    """(texts/s, predictions, per-call ms) calling ``predict`` on consecutive groups."""
    predict(list(texts[:batch]))  # warm-up
    labels: list[str] = []
    calls: list[float] = []
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        t0 = time.perf_counter()
        labels += predict(list(texts[i : i + batch]))
        calls.append((time.perf_counter() - t0) * 1000)
    return len(texts) / (time.perf_counter() - start), labels, calls


VARIANTS = {  # name -> ExportConfig fields of the int8 variant
    "dynamic": {},
    "dynamic-per-tensor": {"per_channel": False},
    "dynamic-matmul": {"int8_ops": "matmul"},
    "static": {"int8_mode": "static"},
}


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def padding_share(clf: Any, texts: Sequence[str], batch: int) -> float:
    """Padding tokens / real tokens over the passes ``clf.logits`` runs on calls of ``batch``."""
    from lmforge.data.tokenize import sorted_batches
    from lmforge.inference.onnx import ONNX_RUN_OVERHEAD_TOKENS
    from lmforge.inference.torch import encode_for_model

    real = padded = 0
    for i in range(0, len(texts), batch):
        lengths = [len(r) for r in encode_for_model(clf, texts[i : i + batch]).input_ids]
        for idx in sorted_batches(lengths, clf.batch_size, ONNX_RUN_OVERHEAD_TOKENS):
            real += sum(lengths[j] for j in idx)
            padded += len(idx) * max(lengths[j] for j in idx)
    return (padded - real) / max(1, real)


def spread(values: list[float]) -> str:
    import statistics

    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a trained PyTorch run directory")
    parser.add_argument("--data", default=str(DATA / "rotten_tomatoes_test.csv"),
                        help="labelled CSV to run on (default: bundled RT test split)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default: 2)")
    parser.add_argument("--batch1-texts", type=int, default=200,
                        help="texts timed one call each, per round (default: 200)")
    parser.add_argument("--timing-texts", type=int, default=512,
                        help="texts timed in batches of 32, per round (default: 512)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timing rounds, contenders interleaved (default: 3, at least 3)")
    parser.add_argument("--variants", nargs="+", default=["dynamic"], choices=sorted(VARIANTS),
                        help="int8 variants of the fused ONNX graph to run (default: dynamic)")
    parser.add_argument("--no-torch-int8", action="store_true",
                        help="skip the PyTorch dynamic-int8 contender")
    args = parser.parse_args(argv)
    if args.rounds < 3:
        parser.error("--rounds: at least 3, so that a median and a spread mean something")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    load_before = load_average()

    import numpy as np
    import torch
    from transformers import pipeline

    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import check_parity, export_fast_graph, quantize_variant
    from lmforge.compress.measure import percentile
    from lmforge.compress.onnx_graph import flipped_share
    from lmforge.errors import ModelError
    from lmforge.runs.kinds import load_onnx_classifier
    from lmforge.runs.load import load_run

    torch.set_num_threads(args.threads)
    run = Path(args.run_dir)
    clf = load_run(run)
    ensemble_note = ""
    if getattr(clf, "backend", "") == "ensemble":
        # every contender is the transformer alone: the HF pipeline loads model/ only
        ensemble_note = (f"; an ensemble run ({clf.choice}, w={clf.weight:.2f}): every contender "
                         "is its transformer part (model/), as the HF pipeline loads it")
        clf = clf.transformer
    text_col = clf.settings.get("text_col") or "text"
    label_col = clf.settings.get("label_col") or "label"
    texts, gold = read_test(Path(args.data), text_col, label_col)
    print(f"run {run}, data {args.data}: {len(texts)} texts; {args.threads} threads; "
          f"max_length {clf.max_length}; load average (1 min) before: {load_before} on "
          f"{os.cpu_count()} cores{ensemble_note}", flush=True)

    contenders: list[tuple[str, Callable[[list[str]], list[str]]]] = []
    hf = pipeline("text-classification", model=str(run / "model"), tokenizer=str(run / "model"),
                  device=-1)

    def hf_predict(batch: list[str]) -> list[str]:
        out = hf(batch, batch_size=len(batch), truncation=True, max_length=clf.max_length)
        return [o["label"] for o in out]

    contenders.append(("HF pipeline", hf_predict))
    clf.batch_size = 32
    contenders.append(("lmforge PyTorch", clf.predict))
    if not args.no_torch_int8:
        contenders.append(("lmforge PyTorch int8", clf.to_int8().predict))

    defaults = ExportConfig()
    onnx_logits: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lmforge-bench-") as tmp:
        plain, fused, counts = export_fast_graph(clf.model, clf.tokenizer, Path(tmp), opset=17)
        fp32_path = fused or plain
        print(f"fused graph: {counts or 'not fused'}", flush=True)
        graphs = [("lmforge ONNX fp32", fp32_path, defaults.tolerance)]
        for variant in args.variants:
            config = ExportConfig(**VARIANTS[variant])
            path = Path(tmp) / f"int8-{variant}.onnx"
            quantize_variant(config, clf, plain if config.int8_mode == "static" else fp32_path,
                             path)
            graphs.append((f"lmforge ONNX int8 {variant}", path, defaults.int8_tolerance))
        for name, path, tolerance in graphs:
            onnx_clf = load_onnx_classifier(run, batch_size=32, num_threads=args.threads,
                                            onnx_path=path)
            try:
                check_parity(clf, onnx_clf, texts[:64], tolerance, name)
            except ModelError as exc:  # a variant that fails parity is reported, not timed
                print(f"  {name}: left out, {exc}", flush=True)
                continue
            onnx_logits[name] = onnx_clf.logits(texts)
            contenders.append((name, onnx_clf.predict))
        print(f"padding share of the ONNX passes at calls of 32: "
              f"{100 * padding_share(onnx_clf, texts[: args.timing_texts], 32):.0f}% of the real "
              "tokens", flush=True)

        # Accuracy: one full pass each. Speed: --rounds rounds, contenders interleaved
        # within each round, so a burst of load lands on every contender's spread.
        results: list[dict[str, Any]] = []
        for name, predict in contenders:
            _, labels, _ = timed_batches(predict, texts, 32)
            accuracy = float(np.mean([p == g for p, g in zip(labels, gold, strict=True)]))
            results.append({"name": name, "b32": [], "b1": [], "p50": [], "accuracy": accuracy})
            print(f"  {name}: accuracy {accuracy:.4f}", flush=True)
        for round_ in range(1, args.rounds + 1):
            for result, (name, predict) in zip(results, contenders, strict=True):
                b32, _, _ = timed_batches(predict, texts[: args.timing_texts], 32)
                b1, _, calls = timed_batches(predict, texts[: args.batch1_texts], 1)
                result["b32"].append(b32)
                result["b1"].append(b1)
                result["p50"].append(percentile(calls, 50))
                print(f"  round {round_}, {name}: batch 32 {b32:.0f} texts/s, batch 1 "
                      f"{b1:.0f} texts/s", flush=True)

    import statistics

    base = results[0]
    b1_base, b32_base = statistics.median(base["b1"]), statistics.median(base["b32"])
    print()
    print("texts/s: median of the rounds (min-max)")
    print("| contender | batch 1 texts/s | p50 ms | vs HF | batch 32 texts/s | vs HF | accuracy |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['name']} | {spread(r['b1'])} | {statistics.median(r['p50']):.1f} | "
              f"{statistics.median(r['b1']) / b1_base:.2f}× | {spread(r['b32'])} | "
              f"{statistics.median(r['b32']) / b32_base:.2f}× | {r['accuracy']:.4f} |")
    by_name = {r["name"]: r for r in results}
    fp32 = by_name["lmforge ONNX fp32"]
    print()
    for variant in args.variants:
        name = f"lmforge ONNX int8 {variant}"
        if name not in by_name:  # left out: failed its parity check (printed above)
            continue
        change = 100 * (by_name[name]["accuracy"] - fp32["accuracy"])
        flips = flipped_share(onnx_logits["lmforge ONNX fp32"], onnx_logits[name])
        print(f"int8 {variant}: accuracy vs ONNX fp32 {change:+.2f} points, "
              f"{100 * flips:.1f}% of top labels flipped on {len(texts)} texts")
    torch_row = by_name["lmforge PyTorch"]
    int8 = by_name[f"lmforge ONNX int8 {args.variants[0]}"]
    ratio = statistics.median(int8["b32"]) / b32_base
    torch_ratio = statistics.median(torch_row["b32"]) / b32_base
    loss = 100 * (torch_row["accuracy"] - int8["accuracy"])
    print(f"targets: ONNX int8 {args.variants[0]} >= 4x the HF pipeline at batch 32: "
          f"{ratio:.2f}x {'PASS' if ratio >= 4 else 'FAIL'}; accuracy loss vs lmforge PyTorch "
          f"<= 0.5 point: {loss:+.2f} {'PASS' if loss <= 0.5 else 'FAIL'}; lmforge PyTorch "
          f">= 1.5x: {torch_ratio:.2f}x {'PASS' if torch_ratio >= 1.5 else 'FAIL'}")
    print(f"load average (1 min) before: {load_before}, after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
