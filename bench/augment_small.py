"""Does EDA augmentation help with 200 training texts? Rotten Tomatoes, with and without.

    .venv/bin/python bench/augment_small.py [--train-texts 200] [--copies 2] [--seeds 2]

For each seed, --train-texts texts (half per class) are drawn from the bundled
Rotten Tomatoes training file, and ``lmforge.train`` runs twice on the default
all-MiniLM-L6-v2 with ``--method finetune`` and lmforge's defaults otherwise
(3 epochs, lr 1e-4): without augmentation and with ``--augment eda:N``
(synonyms from the model's own input embeddings). Both are scored on the same
fixed random sample of --test-texts test texts (seed 0). The TF-IDF + LR baseline
fitted inside each run (on the same, augmented or not, training texts) is shown
too. No validation split: all training texts train, the last weights are kept.
Prints mean ± std over the seeds.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from setfit_small import DATA, mean_std, per_class_sample, read_rows, write_rows  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-texts", type=int, default=200)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--test-texts", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import lmforge

    train_rows = read_rows(DATA / "rotten_tomatoes_train.csv")
    test_rows = random.Random(0).sample(read_rows(DATA / "rotten_tomatoes_test.csv"),
                                        args.test_texts)
    results: dict[str, list[dict[str, Any]]] = {}
    added: list[int] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        test = write_rows(tmp / "test.csv", test_rows)
        for seed in range(args.seeds):
            train = write_rows(tmp / f"train_{seed}.csv",
                               per_class_sample(train_rows, args.train_texts // 2, seed))
            for augment in (None, f"eda:{args.copies}"):
                name = augment or "none"
                started = time.perf_counter()
                result = lmforge.train(data=str(train), test=str(test), seed=seed, method="finetune",
                                       out=str(tmp / f"run_{seed}_{name}"), augment=augment,
                                       max_length=64, num_threads=args.threads, show_progress=False,
                                       validation_fraction=0.0)
                seconds = time.perf_counter() - started
                m = result.metrics
                if augment:
                    added.append(m["data"]["augmentation"]["texts_added"])
                results.setdefault(f"MiniLM finetune, augment {name}", []).append(
                    {"accuracy": m["test"]["accuracy"], "macro_f1": m["test"]["macro_f1"],
                     "seconds": seconds})
                results.setdefault(f"TF-IDF + LR, augment {name}", []).append(
                    {"accuracy": m["baseline"]["test"]["accuracy"],
                     "macro_f1": m["baseline"]["test"]["macro_f1"],
                     "seconds": m["baseline"]["seconds"]})
                sys.stderr.write(f"seed={seed} augment={name}: acc {m['test']['accuracy']:.3f} "
                                 f"({seconds:.0f} s)\n")
    print(f"Rotten Tomatoes, {args.train_texts} training texts, test sample of {args.test_texts}, "
          f"{args.seeds} seeds (mean ± std); eda:{args.copies} added {added} texts\n")
    print("| model | test accuracy | test macro-F1 | seconds per run |")
    print("|---|---|---|---|")
    for name, runs in results.items():
        print(f"| {name} | {mean_std([r['accuracy'] for r in runs])} | "
              f"{mean_std([r['macro_f1'] for r in runs])} | "
              f"{statistics.mean(r['seconds'] for r in runs):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
