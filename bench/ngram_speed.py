"""lmforge n-gram models vs NLTK (pure Python) and KenLM (C++): train, score, memory.

    .venv/bin/python bench/ngram_speed.py [CORPUS] [--order 3] [--nltk-sentences 20]

Each system runs in its own subprocess, so that its peak memory (max RSS) is
its own. On CORPUS (one sentence per line, whitespace tokens):

* lmforge: train = read + tokenize + count + estimate (interpolated
  Kneser-Ney, as NLTK's ``KneserNeyInterpolated``), then write the ARPA file,
  then score every sentence (log10 p with <s> and </s>).
* NLTK: ``padded_everygram_pipeline`` + ``KneserNeyInterpolated.fit`` on the
  same sentences, then ``logscore`` of every token. NLTK scores ~1 sentence a
  second here (each query scans the n-gram counts), so it scores a random
  sample of --nltk-sentences sentences and its time for all is extrapolated
  from that sample's rate (marked * in the table).
* KenLM (``kenlm`` module): loads lmforge's ARPA file and scores every
  sentence with ``Model.score`` -- which also checks that its scores equal
  lmforge's (max |difference| printed).

The two targets: lmforge at least 100x faster than NLTK at train + score, and
lmforge's scoring within 3x of KenLM's time.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# ../shared/data beside the checkout (the project ships no corpus)
DEFAULT_CORPUS = str(Path(__file__).resolve().parents[2] / "shared" / "data"
                     / "corpus_en_shakespeare.txt")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker_lmforge(args: argparse.Namespace, tmp: Path) -> dict:
    import numpy as np

    from lmforge.lm.config import NgramTrainConfig
    from lmforge.lm.corpus import read_text, read_tokens
    from lmforge.lm.pipeline import fit_tokens, load_ngram

    base = rss_mb()
    config = NgramTrainConfig(corpus=args.corpus, out=str(tmp / "model.arpa"), order=args.order,
                              smoothing=args.smoothing)
    start = time.perf_counter()
    model = fit_tokens(read_tokens(args.corpus), config)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    model.save(config.out)
    save_s = time.perf_counter() - start
    text = read_text(args.corpus)
    start = time.perf_counter()
    scores = model.score_text(text)  # first call also builds the n-gram hash tables
    first_score_s = time.perf_counter() - start
    start = time.perf_counter()
    scores = model.score_text(text)
    score_s = time.perf_counter() - start
    np.save(tmp / "lmforge_scores.npy", scores)
    padded = model.encode_text(text)
    metrics = model.evaluate(padded)
    del model
    start = time.perf_counter()
    load_ngram(config.out)
    load_s = time.perf_counter() - start
    return {"train_s": train_s, "save_s": save_s, "first_score_s": first_score_s, "score_s": score_s,
            "load_s": load_s, "sentences": int(padded.n_sentences), "tokens": int(padded.lengths.sum()),
            "perplexity": metrics["perplexity"], "arpa_mb": Path(config.out).stat().st_size / 2**20,
            "peak_mb": peak_rss_mb(), "base_mb": base}


def worker_kenlm(args: argparse.Namespace, tmp: Path) -> dict:
    import kenlm
    import numpy as np

    from lmforge.lm.corpus import nonblank_lines, read_text

    base = rss_mb()
    lines = nonblank_lines(read_text(args.corpus))
    start = time.perf_counter()
    model = kenlm.Model(str(tmp / "model.arpa"))
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    scores = np.array([model.score(line, bos=True, eos=True) for line in lines])
    score_s = time.perf_counter() - start
    ours = np.load(tmp / "lmforge_scores.npy")
    return {"load_s": load_s, "score_s": score_s, "max_abs_diff": float(np.abs(scores - ours).max()),
            "peak_mb": peak_rss_mb(), "base_mb": base}


def worker_nltk(args: argparse.Namespace, tmp: Path) -> dict:
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import pad_both_ends, padded_everygram_pipeline
    from nltk.util import ngrams

    base = rss_mb()
    start = time.perf_counter()
    text = Path(args.corpus).read_text(encoding="utf-8")
    sentences = [line.split() for line in text.split("\n") if line.strip()]
    train, vocab = padded_everygram_pipeline(args.order, sentences)
    model = KneserNeyInterpolated(args.order)
    model.fit(train, vocab)
    train_s = time.perf_counter() - start
    sample = random.Random(0).sample(sentences, min(args.nltk_sentences, len(sentences)))
    start = time.perf_counter()
    for sentence in sample:
        padded = list(pad_both_ends(sentence, n=args.order))
        sum(model.logscore(g[-1], g[:-1]) for g in ngrams(padded, args.order))
    sample_s = time.perf_counter() - start
    return {"train_s": train_s, "sample_sentences": len(sample), "sample_s": sample_s,
            "score_s": sample_s / len(sample) * len(sentences), "peak_mb": peak_rss_mb(), "base_mb": base}


WORKERS = {"lmforge": worker_lmforge, "kenlm": worker_kenlm, "nltk": worker_nltk}


def run_worker(name: str, args: argparse.Namespace, tmp: Path) -> dict | None:
    argv = [sys.executable, __file__, args.corpus, "--order", str(args.order), "--smoothing",
            args.smoothing, "--nltk-sentences", str(args.nltk_sentences), "--worker", name,
            "--tmp", str(tmp)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(f"{name} failed:\n{done.stderr[-2000:]}\n")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def fmt(seconds: float | None, note: str = "") -> str:
    return "-" if seconds is None else f"{seconds:.3f}{note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS, help="one sentence per line")
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--smoothing", default="kneser-ney")
    parser.add_argument("--nltk-sentences", type=int, default=20,
                        help="sentences NLTK scores; its full scoring time is extrapolated")
    parser.add_argument("--skip-nltk", action="store_true", help="leave NLTK out (it takes ~1 minute)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.stdout.write(json.dumps(WORKERS[args.worker](args, Path(args.tmp))) + "\n")
        return

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        ours = run_worker("lmforge", args, tmp)
        if ours is None:
            sys.exit(1)
        kenlm = run_worker("kenlm", args, tmp)
        nltk = None if args.skip_nltk else run_worker("nltk", args, tmp)

    n = ours["sentences"]
    print(f"corpus: {args.corpus} -- {n} sentences, {ours['tokens']} tokens; order {args.order}, "
          f"{args.smoothing} (NLTK: KneserNeyInterpolated, discount 0.1)")
    print(f"lmforge ARPA file: {ours['arpa_mb']:.1f} MB, perplexity on the training text "
          f"{ours['perplexity']:.2f}")
    if kenlm:
        print(f"KenLM vs lmforge sentence scores: max |difference| = {kenlm['max_abs_diff']:.2e} (log10)")
    nl = nltk or {}
    kl = kenlm or {}
    extrapolated = (f" (extrapolated from {nl['sample_sentences']} sentences in {nl['sample_s']:.1f} s)"
                    if nltk else "")
    rows = [
        ("train: read+count+estimate (s)", ours["train_s"], nl.get("train_s"), None),
        ("write ARPA (s)", ours["save_s"], None, None),
        ("load ARPA (s)", ours["load_s"], None, kl.get("load_s")),
        (f"score {n} sentences (s)", ours["score_s"], nl.get("score_s"), kl.get("score_s")),
        ("  first call, builds hash (s)", ours["first_score_s"], None, None),
        ("train + score (s)", ours["train_s"] + ours["score_s"],
         nl["train_s"] + nl["score_s"] if nltk else None, None),
    ]
    print()
    print(f"{'':<32}{'lmforge':>10}{'NLTK':>14}{'KenLM':>10}{'NLTK/lmforge':>14}{'lmforge/KenLM':>15}")
    for name, o, t, k in rows:
        note = "*" if nltk and name.startswith(("score", "train + score")) else ""
        print(f"{name:<32}{fmt(o):>10}{fmt(t, note):>14}{fmt(k):>10}{ratio(t, o):>14}{ratio(o, k):>15}")
    print(f"{'scoring (sentences/s)':<32}{n / ours['score_s']:>10.0f}"
          f"{(n / nl['score_s']) if nltk else 0:>14.2f}{(n / kl['score_s']) if kenlm else 0:>10.0f}"
          f"{ratio(nl.get('score_s'), ours['score_s']):>14}{ratio(ours['score_s'], kl.get('score_s')):>15}")
    print(f"{'peak RSS (MB)':<32}{ours['peak_mb']:>10.0f}{nl.get('peak_mb', 0):>14.0f}"
          f"{kl.get('peak_mb', 0):>10.0f}")
    print(f"{'  over after-import RSS (MB)':<32}{ours['peak_mb'] - ours['base_mb']:>10.0f}"
          f"{nl.get('peak_mb', 0) - nl.get('base_mb', 0):>14.0f}"
          f"{kl.get('peak_mb', 0) - kl.get('base_mb', 0):>10.0f}")
    if nltk:
        print(f"\n* NLTK scoring time{extrapolated}.")
        print(f"targets: NLTK/lmforge train+score >= 100x: {ratio(rows[-1][2], rows[-1][1])}; "
              f"lmforge/KenLM scoring <= 3x: {ratio(ours['score_s'], kl.get('score_s'))}")


if __name__ == "__main__":
    main()
