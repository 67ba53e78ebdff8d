"""Cost as the input grows: ``predict``, ``pretrain`` and ``ngram train`` at 1x, 4x and 16x.

    .venv/bin/python bench/scale.py [--only predict|ngram|pretrain] [--ngram-copies 7]
        [--pretrain-lines 40000] [--steps 300] [--predict-rows 50000] [--sizes 1,4,16]

Inputs are generated from the shared corpora (../shared/data): for ``ngram train``, 1x is
``--ngram-copies`` copies of the Shakespeare corpus, each copy's lines shuffled (seeded),
so 7 copies make ~6.3M words and 16x ~101M; for ``pretrain clm`` (gpt-tiny from scratch,
``--steps`` steps, one tokenizer trained once on 1x beforehand and passed with
``--tokenizer``), 1x is the first ``--pretrain-lines`` lines. Each run is its own
subprocess, so its peak RSS (``ru_maxrss``) is its own. Printed per size: seconds, peak
RSS, and the ratios to 1x. Targets: time at most linear in the input (ratio <= size),
peak RSS from 1x to 16x under 1.5x.

For ``predict`` (``lmforge predict RUN --data FILE.csv --out FILE``, streamed in chunks),
1x is a CSV of ``--predict-rows`` rows ``id,text,label`` (Shakespeare lines, cycled), and the
run is a TF-IDF run trained here on the bundled Rotten Tomatoes split in seconds, so that
reading and writing, not the model, are what grows.

Caveat of the generated input: copies of one corpus add tokens but few new n-grams, so the
n-gram tables (the model, which every method must hold to write it) stay the size of 1x's;
what the bench shows is that nothing else grows with the input.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHAKESPEARE = DATA / "corpus_en_shakespeare.txt"


def worker(kind: str, corpus: str, out: str, extra: list[str]) -> None:
    import logging

    logging.disable(logging.INFO)
    start = time.perf_counter()
    result: dict = {}
    if kind == "predict":
        from lmforge.cli import main as cli_main

        code = cli_main(["-q", "predict", extra[0], "--data", corpus, "--out", out])
        if code:
            raise SystemExit(f"lmforge predict exited with {code}")
        result["rows_out"] = sum(1 for _ in open(out, encoding="utf-8")) - 1
    elif kind == "ngram":
        from lmforge.lm.config import NgramTrainConfig
        from lmforge.lm.pipeline import train_ngram

        model = train_ngram(NgramTrainConfig(corpus=corpus, out=out, order=3))
        result["ngrams"] = model.ngram_counts()
    else:
        from lmforge.pretrain.run import pretrain

        steps, tokenizer = int(extra[0]), extra[1]
        run = pretrain(objective="clm", corpus=[corpus], from_scratch="gpt-tiny",
                       tokenizer=tokenizer, out=out, max_steps=steps, batch_size=16,
                       max_length=64, show_progress=False, mixed_precision="no", num_threads=1,
                       eval_every=steps)
        result["train_sequences"] = run.metrics["corpus"]["train_sequences"]
    result["seconds"] = time.perf_counter() - start
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(json.dumps(result) + "\n")


def measure(kind: str, corpus: Path, out: Path, extra: list[str] = ()) -> dict:  # type: ignore[assignment]
    done = subprocess.run([sys.executable, __file__, "--worker", kind, str(corpus), str(out),
                           *extra], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{kind} on {corpus} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def shuffled_copies(lines: list[str], copies: int, path: Path, seed: int = 0) -> int:
    """``copies`` copies of ``lines``, each shuffled; returns the number of words."""
    rng = random.Random(seed)
    words = sum(len(line.split()) for line in lines)
    with open(path, "w", encoding="utf-8") as stream:
        for _ in range(copies):
            order = lines[:]
            rng.shuffle(order)
            stream.write("\n".join(order) + "\n")
    return words * copies


def write_predict_csv(lines: list[str], n: int, path: Path) -> int:
    """``n`` rows ``id,text,label`` cycling through ``lines``; returns ``n``."""
    with open(path, "w", encoding="utf-8", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(["id", "text", "label"])
        for i in range(n):
            out.writerow([i, lines[i % len(lines)], "fresh" if i % 2 else "rotten"])
    return n


def train_tfidf_run(out: Path) -> None:
    import logging

    import lmforge

    logging.disable(logging.INFO)
    data = Path(__file__).resolve().parents[1] / "src" / "lmforge" / "recipes" / "data"
    lmforge.train(data=str(data / "rotten_tomatoes_train.csv"), model="tfidf", out=str(out),
                  show_progress=False)
    logging.disable(logging.NOTSET)


def table(kind: str, rows: list[tuple[int, str, dict]]) -> None:
    base = rows[0][2]
    print(f"\n{kind}")
    print(f"{'size':>5} {'input':>16} {'seconds':>9} {'x time':>7} {'peak RSS MB':>12} {'x RSS':>6}")
    for size, what, r in rows:
        print(f"{size:>4}x {what:>16} {r['seconds']:>9.1f} {r['seconds'] / base['seconds']:>7.2f} "
              f"{r['peak_rss_mb']:>12.0f} {r['peak_rss_mb'] / base['peak_rss_mb']:>6.2f}")
    last = rows[-1]
    linear = last[2]["seconds"] / base["seconds"] <= last[0]
    flat = last[2]["peak_rss_mb"] / base["peak_rss_mb"] < 1.5
    print(f"time at most linear: {'yes' if linear else 'NO'}; "
          f"peak RSS {last[0]}x/1x < 1.5: {'yes' if flat else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["predict", "ngram", "pretrain"])
    parser.add_argument("--sizes", default="1,4,16")
    parser.add_argument("--ngram-copies", type=int, default=7)
    parser.add_argument("--pretrain-lines", type=int, default=40000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--predict-rows", type=int, default=50000)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.worker[2], args.worker[3:])
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    lines = [line for line in SHAKESPEARE.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="lmforge-scale-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only in (None, "predict"):
            rows = []
            run = tmp / "tfidf-run"
            train_tfidf_run(run)
            for size in sizes:
                corpus = tmp / f"predict-{size}x.csv"
                n = write_predict_csv(lines, args.predict_rows * size, corpus)
                result = measure("predict", corpus, tmp / f"predict-{size}x.out.csv", [str(run)])
                if result["rows_out"] != n:
                    raise SystemExit(f"predict wrote {result['rows_out']} rows for {n}")
                rows.append((size, f"{n / 1e3:.0f}k rows", result))
                print(f"predict {size}x: {result}", flush=True)
                corpus.unlink()
            table("predict (TF-IDF run, streamed, every input column passed through)", rows)
        if args.only in (None, "ngram"):
            rows = []
            for size in sizes:
                corpus = tmp / f"ngram-{size}x.txt"
                words = shuffled_copies(lines, args.ngram_copies * size, corpus, seed=size)
                result = measure("ngram", corpus, tmp / f"ngram-{size}x.arpa")
                rows.append((size, f"{words / 1e6:.1f}M words", result))
                print(f"ngram {size}x: {result}", flush=True)
                corpus.unlink()
            table("ngram train (order 3, modified Kneser-Ney)", rows)
        if args.only in (None, "pretrain"):
            from lmforge.pretrain.run import train_tokenizer_dir

            base = lines[: args.pretrain_lines]
            (tmp / "base.txt").write_text("\n".join(base) + "\n", encoding="utf-8")
            train_tokenizer_dir(corpus=[str(tmp / "base.txt")], kind="bpe", vocab_size=4000,
                                objective="clm", out=str(tmp / "tok"))
            rows = []
            for size in sizes:
                corpus = tmp / f"pretrain-{size}x.txt"
                words = shuffled_copies(base, size, corpus, seed=size)
                result = measure("pretrain", corpus, tmp / f"pretrain-{size}x",
                                 [str(args.steps), str(tmp / "tok")])
                rows.append((size, f"{words / 1e6:.2f}M words", result))
                print(f"pretrain {size}x: {result}", flush=True)
            table(f"pretrain clm (gpt-tiny, {args.steps} steps)", rows)


if __name__ == "__main__":
    main()
