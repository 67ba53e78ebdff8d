"""Zero-shot sentiment on Rotten Tomatoes: generative (SmolLM2 label log-likelihood) vs embedding
(MiniLM cosine similarity), with and without calibration / few-shot prototypes.

    .venv/bin/python bench/prompt_classify.py [--n 300] [--seed 0] [--threads 2]

A fixed random sample (--n texts, --seed) of the bundled test split; gold labels fresh/rotten are
asked for as positive/negative. Prints accuracy and texts/s (scoring only; model loads are
timed apart) of each contender, and a markdown table.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
DATA = Path(__file__).resolve().parents[1] / "src" / "lmforge" / "recipes" / "data"
NAMES = {"fresh": "positive", "rotten": "negative"}


def read(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return [(row["text"], NAMES[row["label"]]) for row in csv.DictReader(f)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="texts sampled from the test split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shots", type=int, default=8, help="few-shot examples per label (from train)")
    parser.add_argument("--skip-generative", action="store_true",
                        help="embedding rows only (no SmolLM2: minutes less)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import torch

    from lmforge.generate.classify import batch_prior, calibrate_scores, classify_zero_shot, load_encoder
    from lmforge.generate.models import load_causal_lm

    torch.set_num_threads(args.threads)
    test = random.Random(args.seed).sample(read(DATA / "rotten_tomatoes_test.csv"), args.n)
    texts, gold = [t for t, _ in test], [g for _, g in test]
    train = read(DATA / "rotten_tomatoes_train.csv")
    rng = random.Random(args.seed)
    shots = [ex for label in ("positive", "negative")
             for ex in rng.sample([e for e in train if e[1] == label], args.shots)]
    labels = ["positive", "negative"]

    start = time.perf_counter()
    encoder = load_encoder("default")
    encoder_load = time.perf_counter() - start
    print(f"load: MiniLM {encoder_load:.2f} s")
    # each embedding run is reported raw and batch-calibrated (the same scores centred per label)
    contenders: list[tuple[str, dict]] = [
        ("embedding (MiniLM), label names", dict(method="embedding", model=encoder)),
        ("embedding, 'a {label} movie review'", dict(method="embedding", model=encoder,
                                                    label_template="a {label} movie review")),
        (f"embedding, {args.shots}-shot prototypes", dict(method="embedding", model=encoder, examples=shots)),
    ]
    if not args.skip_generative:
        start = time.perf_counter()
        lm = load_causal_lm("default")
        print(f"load: SmolLM2 (converted cache) {time.perf_counter() - start:.2f} s")
        # one run gives both: the raw scores are the calibrated ones plus the content-free ones
        contenders.append(("generative (SmolLM2), mean log-lik",
                           dict(method="generative", model=lm, calibrate="content-free")))
    results = []

    def report(name: str, predictions: list[str], seconds: float) -> None:
        accuracy = sum(p == g for p, g in zip(predictions, gold, strict=True)) / len(gold)
        share = predictions.count("positive") / len(gold)
        results.append((name, accuracy, len(texts) / seconds, share))
        print(f"{name:<40} accuracy {accuracy:.3f}  {len(texts) / seconds:7.1f} texts/s  "
              f"predicted positive {share:.2f}", flush=True)

    for name, kwargs in contenders:
        start = time.perf_counter()
        result = classify_zero_shot(texts, labels, **{"calibrate": "none", **kwargs})
        seconds = time.perf_counter() - start
        if "calibrate" not in kwargs:
            report(name, result.predictions, seconds)
            centred = calibrate_scores(result.scores, batch_prior(result.scores))
            report(name + " + batch calibration",
                   [labels[max(range(2), key=row.__getitem__)] for row in centred], seconds)
            continue
        free = [result.details["prior_scores"][label] for label in labels]
        raw = [[s + c for s, c in zip(row, free, strict=True)] for row in result.scores]
        report(name, [labels[max(range(2), key=row.__getitem__)] for row in raw], seconds)
        report("generative + calibration (N/A)", result.predictions, seconds)
        # batch calibration needs no second model pass: centre each label's raw scores on the batch
        prior = batch_prior(raw)
        report("generative + batch calibration", [labels[max(range(2), key=row.__getitem__)]
                                                  for row in calibrate_scores(raw, prior)], seconds)
    print(f"\n{len(texts)} Rotten Tomatoes test texts (seed {args.seed}), {args.threads} threads; "
          f"gold positive share {gold.count('positive') / len(gold):.2f}\n")
    print("| method | accuracy | texts/s | predicted positive |\n|---|---|---|---|")
    for name, accuracy, speed, share in results:
        print(f"| {name} | {accuracy:.3f} | {speed:.1f} | {share:.2f} |")


if __name__ == "__main__":
    main()
