"""Few-shot sentiment: SetFit vs standard fine-tuning vs TF-IDF + LR on Rotten Tomatoes.

    .venv/bin/python bench/setfit_small.py [--per-class 8 16] [--seeds 3] [--test-texts 1000]

For each size K (examples per class) and seed, K texts per class are drawn from
the bundled Rotten Tomatoes training file (the draw depends on the seed), and
three runs of ``lmforge.train`` are scored on the same fixed random sample of
--test-texts texts of the test file (seed 0):

- setfit: ``--method setfit`` on the default all-MiniLM-L6-v2 (20 pair iterations);
- finetune: ``--method finetune``, lmforge's defaults except --finetune-epochs
  (default 10: the default 3 epochs over 16 texts are 3 optimizer steps);
- tfidf: the TF-IDF + logistic regression baseline fitted inside the finetune run
  on the same K texts per class.

No validation split (all K per class train; the last weights are kept). Prints
mean ± std of test accuracy and macro-F1 over the seeds, and seconds per run.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
DATA = Path(__file__).resolve().parents[1] / "src" / "lmforge" / "recipes" / "data"


def read_rows(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def per_class_sample(rows: list[tuple[str, str]], k: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for label in sorted({lab for _, lab in rows}):
        out += rng.sample([r for r in rows if r[1] == label], k)
    rng.shuffle(out)
    return out


def mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3f}" if values else "-"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--test-texts", type=int, default=1000)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import lmforge

    train_rows = read_rows(DATA / "rotten_tomatoes_train.csv")
    test_rows = random.Random(0).sample(read_rows(DATA / "rotten_tomatoes_test.csv"),
                                        args.test_texts)
    results: dict[tuple[int, str], list[dict[str, Any]]] = {}
    common = dict(max_length=64, num_threads=args.threads, show_progress=False,
                  validation_fraction=0.0)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        test = write_rows(tmp / "test.csv", test_rows)
        for k in args.per_class:
            for seed in range(args.seeds):
                train = write_rows(tmp / f"train_{k}_{seed}.csv", per_class_sample(train_rows, k, seed))
                for method in ("setfit", "finetune"):
                    extra = {"epochs": args.finetune_epochs} if method == "finetune" else {}
                    started = time.perf_counter()
                    result = lmforge.train(data=str(train), test=str(test), seed=seed,
                                           out=str(tmp / f"run_{k}_{seed}_{method}"),
                                           method=method, **common, **extra)
                    seconds = time.perf_counter() - started
                    m = result.metrics
                    results.setdefault((k, method), []).append(
                        {"accuracy": m["test"]["accuracy"], "macro_f1": m["test"]["macro_f1"],
                         "seconds": seconds})
                    if method == "finetune":
                        b = m["baseline"]
                        results.setdefault((k, "tfidf"), []).append(
                            {"accuracy": b["test"]["accuracy"], "macro_f1": b["test"]["macro_f1"],
                             "seconds": b["seconds"]})
                    sys.stderr.write(f"K={k} seed={seed} {method}: acc {m['test']['accuracy']:.3f} "
                                     f"({seconds:.0f} s)\n")
    print(f"Rotten Tomatoes, test sample of {args.test_texts} texts, {args.seeds} seeds "
          f"(mean ± std)\n")
    print("| per class | method | test accuracy | test macro-F1 | seconds per run |")
    print("|---|---|---|---|---|")
    for (k, method), runs in sorted(results.items()):
        print(f"| {k} | {method} | {mean_std([r['accuracy'] for r in runs])} | "
              f"{mean_std([r['macro_f1'] for r in runs])} | "
              f"{statistics.mean(r['seconds'] for r in runs):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
