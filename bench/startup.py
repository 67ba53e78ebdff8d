"""Start-up time of a one-text ``lmforge predict``: where the seconds go.

    .venv/bin/python bench/startup.py [RUN_DIR ...] [--rounds 3] [--onnx]

For each run (default: ``runs/demo`` when present, else a tiny run trained here on 200
bundled reviews with the default encoder, 1 epoch, in a temp dir), each round starts a
fresh Python that does what ``lmforge predict RUN --data -`` does for one text and times
each part:

- import lmforge cli: ``lmforge.cli`` + the argument parser (what runs before the handler);
- import libraries: what the backend cannot do without (torch + transformers' model classes,
  or onnxruntime + transformers' tokenizer for an ONNX run);
- load model: ``lmforge.load(RUN)`` after that: the rest of the imports (lmforge's own, a
  blend's TF-IDF part), the tokenizer, the weights or the ONNX session;
- first forward: ``predict_proba`` on one text (the first call pays for lazy set-up);
- total: the whole ``lmforge predict RUN --data -`` process with one text on
  stdin, interpreter start and output included (timed separately, end to end).

With ``--onnx`` the run is also exported (``lmforge export --onnx``) and the ONNX run
measured the same way ("load" is then the ONNX session). The median of the rounds is
printed with the min and max, and the load average before and after: on a busy machine
the figures are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what the `lmforge` console script runs
LMFORGE = [sys.executable, "-c", "import sys; from lmforge.cli import main; sys.exit(main())"]
TEXT = "A gripping, beautifully acted film that stays with you."

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from lmforge.cli import build_parser
build_parser()
t1 = time.perf_counter()
from lmforge.runs.kinds import model_kind
kind = model_kind(sys.argv[1])
if kind == "onnx":
    import onnxruntime
    from transformers import AutoTokenizer
elif kind != "tfidf":
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
t2 = time.perf_counter()
import lmforge
clf = lmforge.load(sys.argv[1])
t3 = time.perf_counter()
clf.predict_proba([sys.argv[2]])
t4 = time.perf_counter()
clf.predict_proba([sys.argv[2]])
t5 = time.perf_counter()
mods = sorted(m for m in ("torch", "transformers", "sklearn", "pandas", "onnxruntime", "scipy",
                          "pyarrow", "matplotlib") if m in sys.modules)
print(json.dumps({"import lmforge cli": t1 - t0, "import libraries": t2 - t1,
                  "load model": t3 - t2, "first forward": t4 - t3, "second forward": t5 - t4,
                  "modules": mods}))
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def time_parts(run: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(run), TEXT], capture_output=True,
                         text=True, env=child_env(), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_total(run: Path) -> float:
    start = time.perf_counter()
    subprocess.run([*LMFORGE, "-q", "predict", str(run), "--data", "-"],
                   input=TEXT + "\n", capture_output=True, text=True, env=child_env(), check=True)
    return time.perf_counter() - start


def tiny_run(tmp: Path) -> Path:
    """A run of the default encoder (same size as the demo's), trained in seconds."""
    out = tmp / "tiny"
    subprocess.run([*LMFORGE, "-q", "train", "--recipe", "tiny",
                    "--max-train-samples", "200", "--max-eval-samples", "60", "--out", str(out),
                    "--no-show-progress"], check=True, env=child_env())
    return out


def onnx_run(run: Path, tmp: Path) -> Path:
    out = tmp / (run.name + "-onnx")
    subprocess.run([*LMFORGE, "-q", "export", str(run), "--onnx",
                    "--out", str(out), "--latency-runs", "2", "--throughput-texts", "32"],
                   check=True, env=child_env())
    return out


def report(run: Path, rounds: int) -> None:
    parts = [time_parts(run) for _ in range(rounds)]
    totals = [time_total(run) for _ in range(rounds)]
    print(f"\n{run}  ({rounds} rounds; median [min-max] seconds)")
    for key in ("import lmforge cli", "import libraries", "load model", "first forward",
                "second forward"):
        values = [p[key] for p in parts]
        print(f"  {key:<20}{statistics.median(values):6.2f}  [{min(values):.2f}-{max(values):.2f}]")
    print(f"  {'total (process)':<20}{statistics.median(totals):6.2f}  "
          f"[{min(totals):.2f}-{max(totals):.2f}]")
    print(f"  heavy modules loaded: {', '.join(parts[0]['modules']) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="*", help="run directories (default: runs/demo, else a "
                        "tiny run trained here)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per run (default: 3)")
    parser.add_argument("--onnx", action="store_true", help="also export each run to ONNX and "
                        "time the ONNX run")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        runs = [Path(r) for r in args.runs]
        if not runs:
            demo = ROOT / "runs" / "demo"
            runs = [demo] if demo.is_dir() else [tiny_run(tmp)]
        if args.onnx:
            runs += [onnx_run(r, tmp) for r in list(runs)]
        for run in runs:
            report(run, args.rounds)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
