"""bench/train_gpu.py keeps working: run at tiny sizes on the CPU, as CI does."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "train_gpu.py"


def test_train_gpu_bench_runs_tiny_on_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import session_rng_kept

    spec = importlib.util.spec_from_file_location("bench_train_gpu", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with session_rng_kept():
        code = bench.main(["--model", "tiny", "--seq-len", "16", "--batch-size", "8",
                           "--samples", "32"])
    out = capsys.readouterr().out
    assert code == 0
    rows = dict(re.findall(r"^\| (HF Trainer|lmforge) \| ([0-9.]+) \|", out, re.MULTILINE))
    assert set(rows) == {"HF Trainer", "lmforge"} and all(float(v) > 0 for v in rows.values())
    assert "n/a (no peak known)" in out  # no MFU invented on a CPU
    ratio = float(re.search(r"ratio lmforge / HF Trainer: ([0-9.]+)x", out).group(1))  # type: ignore[union-attr]
    assert ratio == pytest.approx(float(rows["lmforge"]) / float(rows["HF Trainer"]), rel=0.02)
    assert re.search(r"load average \(1 min\) before: [0-9.]+, after: [0-9.]+", out)
