"""What each bundled recipe reaches on the shared data, next to the TF-IDF baseline.

    .venv/bin/python bench/recipes.py [--data-dir ../shared/data] [--recipes sentiment-en news-topics]
        [--news-train-samples 4000] [--news-epochs 2] [--threads 2] [--work DIR]

Each recipe runs through ``lmforge.train(recipe values + overrides)``, exactly what
``lmforge train --recipe NAME --data ...`` does, and every run fits the TF-IDF +
logistic-regression baseline on the same split (``metrics.json`` ``baseline``):

- sentiment-en: the bundled Rotten Tomatoes files (80/20 stratified by
  scripts/bundle_data.py with seed 0, which is what the shared
  ``sentiment_en_rotten_tomatoes.csv`` gives too); the recipe as it is.
- news-topics: 20 Newsgroups, the given train/test files. Fine-tuning MiniLM on
  11,293 documents of 256 tokens for 3 epochs takes hours on 2 CPU cores, so by
  default the bench trains on a stratified subset (``--news-train-samples``,
  ``--news-epochs``) and tests on the whole test file; it also fits
  ``--model tfidf`` on the full train file, so both baselines are shown.
- sentiment-zh: the Chinese reviews with lmforge's own 20% stratified test split
  (seed 0), recipe as it is (the default English encoder: most Chinese characters
  are [UNK] in its vocabulary), optional with --zh-train-samples; the pre-trained
  Chinese model is measured by bench/pretrain_zh.py.

Prints a markdown table (and writes it with a JSON copy under --work).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"


def run_recipe(name: str, out: Path, threads: int, **overrides: Any) -> dict[str, Any]:
    import lmforge
    from lmforge.recipes import load_recipe

    values = load_recipe(name)
    values.update(overrides, out=str(out), overwrite=True, num_threads=threads, show_progress=False)
    started = time.perf_counter()
    result = lmforge.train(**values)
    seconds = time.perf_counter() - started
    m = result.metrics
    row = {"recipe": name, "seconds": round(seconds, 1), "test_n": m["test"].get("n"),
           "train_n": m["data"]["splits"]["train"],
           "test_over_max_length": m["data"]["over_max_length"].get("test"),
           "accuracy": m["test"]["accuracy"], "macro_f1": m["test"]["macro_f1"],
           "baseline_accuracy": m["baseline"]["test"]["accuracy"],
           "baseline_macro_f1": m["baseline"]["test"]["macro_f1"],
           "overrides": {k: v for k, v in overrides.items() if k not in ("data", "test")}}
    sys.stderr.write(f"{name}: {json.dumps(row)}\n")
    return row


def run_tfidf(data: Path, test: Path, out: Path) -> dict[str, Any]:
    import lmforge

    result = lmforge.train(data=str(data), test=str(test), out=str(out), model="tfidf", overwrite=True,
                           show_progress=False)
    m = result.metrics
    return {"accuracy": m["test"]["accuracy"], "macro_f1": m["test"]["macro_f1"],
            "test_n": m["test"].get("n")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--recipes", nargs="+", default=["sentiment-en", "news-topics"],
                        choices=["sentiment-en", "news-topics", "sentiment-zh"])
    parser.add_argument("--news-train-samples", type=int, default=4000,
                        help="0 = the whole 20 Newsgroups train file")
    parser.add_argument("--news-epochs", type=int, default=2)
    parser.add_argument("--zh-train-samples", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    work = args.work or Path(tempfile.mkdtemp(prefix="lmforge-recipes-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for name in args.recipes:
        if name == "sentiment-en":
            row = run_recipe(name, work / name, args.threads)
            row["data"] = "Rotten Tomatoes (bundled 80/20 split)"
        elif name == "news-topics":
            train = args.data_dir / "news_20newsgroups_train.csv"
            test = args.data_dir / "news_20newsgroups_test.csv"
            extra: dict[str, Any] = {"epochs": args.news_epochs}
            if args.news_train_samples:
                extra["max_train_samples"] = args.news_train_samples
            row = run_recipe(name, work / name, args.threads, data=str(train), test=str(test), **extra)
            row["data"] = "20 Newsgroups (given train/test files)"
            row["full_train_tfidf"] = run_tfidf(train, test, work / "news-tfidf-full")
        else:
            extra = {"max_train_samples": args.zh_train_samples} if args.zh_train_samples else {}
            row = run_recipe(name, work / name, args.threads,
                             data=str(args.data_dir / "sentiment_zh_reviews.csv"), **extra)
            row["data"] = "Chinese reviews (20% stratified test, seed 0)"
        rows.append(row)
        (work / "recipes.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")

    lines = ["| recipe | data | train texts | test texts | accuracy | macro-F1 | TF-IDF acc (same split) "
             "| TF-IDF macro-F1 | minutes |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        note = "".join(f", {k}={v}" for k, v in r["overrides"].items())
        lines.append(f"| {r['recipe']}{note} | {r['data']} | {r['train_n'] or '-'} | {r['test_n']} | "
                     f"{r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['baseline_accuracy']:.3f} | "
                     f"{r['baseline_macro_f1']:.3f} | {r['seconds'] / 60:.1f} |")
        if "full_train_tfidf" in r:
            full = r["full_train_tfidf"]
            lines.append(f"| `--model tfidf`, whole train file | {r['data']} | all | {full['test_n']} | "
                         f"{full['accuracy']:.3f} | {full['macro_f1']:.3f} | | | |")
    table = "\n".join(lines)
    (work / "recipes.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    sys.stderr.write(f"written: {work / 'recipes.md'}, {work / 'recipes.json'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
