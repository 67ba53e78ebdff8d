"""CPU inference: HF pipeline vs lmforge PyTorch vs lmforge ONNX fp32 vs ONNX int8.

    .venv/bin/python bench/inference.py RUN_DIR [--data CSV] [--threads 2]

RUN_DIR is a trained PyTorch run, e.g. from
``lmforge train --recipe sentiment-en-demo --out runs/demo``. The script exports
it to ONNX fp32 and int8 in a temp dir (checked against PyTorch), then runs each
contender on the bundled Rotten Tomatoes test split (or --data) with the same
thread count:

- accuracy: every text, in input order, in groups of 32;
- speed: --rounds rounds; in each, every contender in turn runs the first
  --timing-texts texts in groups of 32 and the first --batch1-texts texts one
  call each (latency p50). The best round of each contender is reported, so a
  burst of load from another process hits no contender alone.

Each call of a contender gets a list of 32 (or 1) texts, the way a service or a
user's loop calls it; the HF pipeline gets ``batch_size`` equal to the list.

Prints texts/s, the ratio against the HF pipeline measured in this same run,
and the accuracy of each. The HF pipeline truncates at the head only (lmforge:
head+tail, as in training), which can move its accuracy a little.
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
                        help="timing rounds; the best of each contender is kept (default: 3)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    import numpy as np
    import torch
    from transformers import pipeline

    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import check_parity, export_onnx_model, quantize_int8
    from lmforge.compress.measure import percentile
    from lmforge.runs.kinds import load_onnx_classifier
    from lmforge.runs.load import load_run

    torch.set_num_threads(args.threads)
    run = Path(args.run_dir)
    clf = load_run(run)
    text_col = clf.settings.get("text_col") or "text"
    label_col = clf.settings.get("label_col") or "label"
    texts, gold = read_test(Path(args.data), text_col, label_col)
    print(f"run {run}, data {args.data}: {len(texts)} texts; {args.threads} threads; "
          f"max_length {clf.max_length}", flush=True)

    contenders: list[tuple[str, Callable[[list[str]], list[str]]]] = []
    hf = pipeline("text-classification", model=str(run / "model"), tokenizer=str(run / "model"),
                  device=-1)

    def hf_predict(batch: list[str]) -> list[str]:
        out = hf(batch, batch_size=len(batch), truncation=True, max_length=clf.max_length)
        return [o["label"] for o in out]

    contenders.append(("HF pipeline", hf_predict))
    clf.batch_size = 32
    contenders.append(("lmforge PyTorch", clf.predict))

    with tempfile.TemporaryDirectory(prefix="lmforge-bench-") as tmp:
        fp32_path, int8_path = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        export_onnx_model(clf.model, clf.tokenizer, fp32_path, opset=17)
        quantize_int8(fp32_path, int8_path)
        defaults = ExportConfig()
        for name, path, tolerance in (("lmforge ONNX fp32", fp32_path, defaults.tolerance),
                                      ("lmforge ONNX int8", int8_path, defaults.int8_tolerance)):
            onnx_clf = load_onnx_classifier(run, batch_size=32, num_threads=args.threads,
                                            onnx_path=path)
            check_parity(clf, onnx_clf, texts[:64], tolerance, name)
            contenders.append((name, onnx_clf.predict))

        # Accuracy: one full pass each. Speed: --rounds rounds, contenders interleaved
        # within each round and the best round kept, so a burst of load from another
        # process on the machine does not land on one contender only.
        results: list[dict[str, Any]] = []
        for name, predict in contenders:
            b32, labels, _ = timed_batches(predict, texts, 32)
            accuracy = float(np.mean([p == g for p, g in zip(labels, gold, strict=True)]))
            results.append({"name": name, "b32": b32, "b1": 0.0, "p50": float("inf"),
                            "accuracy": accuracy})
            print(f"  {name}: accuracy {accuracy:.4f}", flush=True)
        for round_ in range(1, args.rounds + 1):
            for result, (name, predict) in zip(results, contenders, strict=True):
                b32, _, _ = timed_batches(predict, texts[: args.timing_texts], 32)
                b1, _, calls = timed_batches(predict, texts[: args.batch1_texts], 1)
                result["b32"] = max(result["b32"], b32)
                result["b1"] = max(result["b1"], b1)
                result["p50"] = min(result["p50"], percentile(calls, 50))
                print(f"  round {round_}, {name}: batch 32 {b32:.0f} texts/s, batch 1 "
                      f"{b1:.0f} texts/s", flush=True)

    base = results[0]
    print()
    print(f"| {'contender':<18} | batch 1 texts/s | p50 ms | vs HF | batch 32 texts/s | vs HF "
          f"| accuracy |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['name']:<18} | {r['b1']:15.0f} | {r['p50']:6.1f} | {r['b1'] / base['b1']:4.2f}×"
              f" | {r['b32']:16.0f} | {r['b32'] / base['b32']:4.2f}× | {r['accuracy']:.4f} |")
    int8, torch_row = results[-1], results[1]
    ratio = int8["b32"] / base["b32"]
    loss = 100 * (torch_row["accuracy"] - int8["accuracy"])
    print()
    print(f"target: ONNX int8 >= 3x the HF pipeline at batch 32: {ratio:.2f}x "
          f"{'PASS' if ratio >= 3 else 'FAIL'}; accuracy loss vs lmforge PyTorch <= 0.5 point: "
          f"{loss:+.2f} {'PASS' if loss <= 0.5 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
