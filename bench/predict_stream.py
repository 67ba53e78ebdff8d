"""Streamed ``lmforge predict`` against loading every row first: peak RSS and rows/s.

    nice -n 19 .venv/bin/python bench/predict_stream.py [--rows 200000] [--chunk-rows 1000]
        [--run RUN_DIR]

A CSV of ``--rows`` rows (``id,text,label``, short generated reviews) is predicted by
a run (default: a TF-IDF run trained here in seconds, so that the reading and writing,
not the model, are what is measured; pass ``--run`` for another) three ways, each in its
own fresh process (started by a parent that imports nothing of lmforge: Linux keeps the
peak RSS across ``exec``) so that its peak RSS (``ru_maxrss``) is its own:

- load only: imports (pandas included) and ``lmforge.load``: what every way pays first;
- whole file (the old path): ``data.read_inputs`` (every row read and cleaned into a list)
  + ``inference.rows.prediction_rows`` (every prediction held) + ``write_rows``;
- streamed: ``data.stream.open_input`` + ``inference.stream.predict_stream``, chunk by chunk,
  every input column passed through (more output than the old path writes).

Output goes to /dev/null. Printed: load and predict seconds, rows/s (predict part), peak RSS
and the RSS above "load only"
(the part that grows with the input), the streamed/whole ratios, and the 1-minute load
average before and after (on a busy machine the times are upper bounds; RSS is not
affected).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSITIVE = ["great", "wonderful", "excellent", "superb", "moving", "brilliant"]
NEGATIVE = ["awful", "boring", "terrible", "dull", "clumsy", "lifeless"]
FILLER = ["the", "film", "movie", "plot", "acting", "was", "really", "quite", "story", "cast",
          "scene", "ending", "music", "camera", "script", "director"]


def write_reviews(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        for i in range(rows):
            label = "pos" if i % 2 else "neg"
            words = rng.choices(FILLER, k=rng.randint(8, 30))
            words.insert(rng.randrange(len(words)), rng.choice(POSITIVE if i % 2 else NEGATIVE))
            writer.writerow([f"r{i}", " ".join(words).capitalize() + ".", label])


def worker(mode: str, run: str, data: str, chunk_rows: int) -> None:
    import logging

    logging.disable(logging.WARNING)
    start = time.perf_counter()
    import lmforge

    clf = lmforge.load(run)
    import pandas  # noqa: F401 - both ways read with it: "load only" holds it too

    import lmforge.data.stream
    import lmforge.inference.stream  # noqa: F401
    loaded = time.perf_counter()
    rows = 0
    with open(os.devnull, "w", encoding="utf-8", newline="") as out:
        if mode == "whole":
            from lmforge.data import read_inputs
            from lmforge.inference.rows import prediction_rows, row_columns, write_rows

            predictions = prediction_rows(clf, read_inputs(data, clf.settings))
            write_rows(predictions, out, "csv", row_columns(clf.task, clf.labels))
            rows = len(predictions)
        elif mode == "stream":
            from lmforge.data.stream import open_input
            from lmforge.inference.rows import prediction_rows
            from lmforge.inference.stream import predict_stream

            with open_input(data, chunk_rows) as stream:
                rows = predict_stream(stream, lambda texts: prediction_rows(clf, texts), out,
                                      task=clf.task, labels=clf.labels, settings=clf.settings,
                                      show_progress=False).rows
    end = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    sys.stdout.write(json.dumps({"rows": rows, "load_seconds": loaded - start,
                                 "seconds": end - loaded, "peak_rss_mb": peak}) + "\n")


def measure(mode: str, run: Path, data: Path, chunk_rows: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", mode, str(run), str(data),
                           str(chunk_rows)], capture_output=True, text=True, env=child_env(),
                          check=False)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def train_tfidf(root: Path) -> Path:
    """A TF-IDF run, trained in a subprocess: Linux keeps a process's peak RSS across
    ``exec``, so the parent of the measured workers must stay small."""
    data = root / "train.csv"
    write_reviews(data, 2000, seed=1)
    code = ("import logging, sys, lmforge; logging.disable(logging.WARNING); "
            "lmforge.train(data=sys.argv[1], out=sys.argv[2], model='tfidf', show_progress=False)")
    subprocess.run([sys.executable, "-c", code, str(data), str(root / "run")], env=child_env(),
                   check=True)
    return root / "run"


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get(
        "PYTHONPATH", ""), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk-rows", type=int, default=1000)
    parser.add_argument("--run", help="run directory to predict with (default: a TF-IDF run "
                        "trained here)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, run, data, chunk_rows = args.worker
        worker(mode, run, data, int(chunk_rows))
        return
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lmforge-predict-stream-") as tmp_name:
        tmp = Path(tmp_name)
        run = Path(args.run) if args.run else train_tfidf(tmp)
        data = tmp / "reviews.csv"
        write_reviews(data, args.rows)
        size_mb = data.stat().st_size / 2**20
        print(f"{args.rows:,} rows ({size_mb:.0f} MB CSV), run {run}, chunks of "
              f"{args.chunk_rows:,} rows; load average {load_before:.2f}", flush=True)
        results = {mode: measure(mode, run, data, args.chunk_rows)
                   for mode in ("load", "whole", "stream")}
    base = results["load"]["peak_rss_mb"]
    print(f"\n{'':<12}{'load s':>8}{'predict s':>11}{'rows/s':>9}{'peak RSS MB':>13}"
          f"{'above load MB':>15}")
    for mode, name in (("load", "load only"), ("whole", "whole file"), ("stream", "streamed")):
        r = results[mode]
        rate = f"{r['rows'] / r['seconds']:,.0f}" if r["rows"] else "-"
        predict = f"{r['seconds']:.1f}" if r["rows"] else "-"
        print(f"{name:<12}{r['load_seconds']:>8.1f}{predict:>11}{rate:>9}"
              f"{r['peak_rss_mb']:>13.0f}{r['peak_rss_mb'] - base:>15.0f}")
    whole, stream = results["whole"], results["stream"]
    assert whole["rows"] == stream["rows"] == args.rows, (whole, stream)
    above_whole = max(whole["peak_rss_mb"] - base, 1e-9)
    print(f"\nstreamed / whole file: time {stream['seconds'] / whole['seconds']:.2f}x, peak RSS "
          f"{stream['peak_rss_mb'] / whole['peak_rss_mb']:.2f}x, RSS above load "
          f"{(stream['peak_rss_mb'] - base) / above_whole:.2f}x")
    print(f"load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
