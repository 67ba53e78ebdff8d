"""Exact resume after a kill, and data-parallel training (2 gloo processes on the CPU).

Real ``lmforge train`` processes: one is SIGKILLed while it trains and resumed with
``--resume``; another runs as two torchrun workers. Both are compared with an
uninterrupted single-process run of the tiny random-init BERT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lmforge.cli import main
from tests.conftest import sentiment_rows, write_csv
from tests.helpers import kill_at_first_checkpoint

FLAGS = ["--epochs", "2", "--lr", "2e-3", "--max-length", "24", "--no-show-progress",
         "--no-baseline", "--ensemble", "off", "--threads", "1", "--seed", "3"]
TIMING = {"seconds", "samples_per_second", "tokens_per_second", "eval_seconds"}


def weights(run: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(run / "model" / "model.safetensors"))


def max_abs_diff(a: Path, b: Path) -> float:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    return max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa)


def without_timing(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def keys(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {f"{prefix}{k}" for k in value} | {
            key for k, v in value.items() if k != "history" for key in keys(v, f"{prefix}{k}.")}
    return set()


def lmforge(argv: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "lmforge", "-q", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("resume") / "reviews.csv", sentiment_rows(96))


def test_train_killed_mid_epoch_resumes_to_the_same_weights(
        tmp_path: Path, tiny_model_dir: Path, data: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    run = [*FLAGS, "--data", str(data), "--model", str(tiny_model_dir), "--batch-size", "8",
           "--log-to", "csv"]
    killed = tmp_path / "killed"
    proc = lmforge(["train", *run, "--out", str(killed), "--checkpoint-every", "1"])
    state_file = killed.with_name("killed.partial") / "checkpoints" / "resume.pt"
    kill_at_first_checkpoint(proc, state_file)
    assert not killed.exists() and state_file.exists()
    state = torch.load(state_file, weights_only=False)
    assert state["epoch"] == 1 and 0 < state["batch"] < 9  # 67 rows in batches of 8: mid-epoch

    # a setting that changes the result is refused, by name; the partial run stays
    assert main(["train", *run, "--out", str(killed), "--resume", "--lr", "1e-3"]) == 2
    assert "lr was 0.002, now 0.001" in capsys.readouterr().err
    assert main(["-q", "train", *run, "--out", str(killed), "--resume"]) == 0
    assert not killed.with_name("killed.partial").exists()
    assert not (killed / "resume.json").exists() and not (killed / "checkpoints").exists()

    reference = tmp_path / "reference"
    assert main(["-q", "train", *run, "--out", str(reference)]) == 0
    assert max_abs_diff(killed, reference) <= 1e-6
    metrics = [json.loads((r / "metrics.json").read_text()) for r in (killed, reference)]
    assert without_timing(metrics[0]) == without_timing(metrics[1])
    history = [(r / "metrics_history.csv").read_text() for r in (killed, reference)]
    assert history[0] == history[1]


def test_a_partial_run_is_neither_overwritten_nor_resumed_by_accident(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lmforge.rundir import check_resumable

    out = tmp_path / "run"
    assert main(["train", "--data", "x.csv", "--out", str(out), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    (tmp_path / "run.partial").mkdir()
    (tmp_path / "run.partial" / "resume.json").write_text('{"settings": {"lr": 0.1}}')
    with pytest.raises(Exception, match="holds an unfinished run.*--resume.*--overwrite"):
        check_resumable(out, False, False, {"lr": 0.1})
    check_resumable(out, False, True, {"lr": 0.1, "show_progress": False})  # not result-affecting


def test_two_processes_equal_one_with_twice_the_batch(tmp_path: Path, tiny_model_dir: Path,
                                                     data: Path) -> None:
    run = [*FLAGS, "--data", str(data), "--model", str(tiny_model_dir), "--dropout", "0"]
    two = tmp_path / "two"
    proc = lmforge(["train", *run, "--batch-size", "4", "--processes", "2", "--out", str(two)])
    _, err = proc.communicate(timeout=1200)
    assert proc.returncode == 0, err.decode()[-3000:]
    one = tmp_path / "one"
    assert main(["-q", "train", *run, "--batch-size", "8", "--out", str(one)]) == 0
    # same global batches and gradients, summed in another order: float32 rounding only
    assert max_abs_diff(two, one) <= 1e-5
    metrics = [json.loads((r / "metrics.json").read_text()) for r in (two, one)]
    assert keys(metrics[0]) == keys(metrics[1])
    assert metrics[0]["train"]["samples_seen"] == metrics[1]["train"]["samples_seen"]
    assert metrics[0]["train"]["steps"] == metrics[1]["train"]["steps"]
    assert metrics[0]["test"]["n"] == metrics[1]["test"]["n"]  # every test text once
    assert metrics[0]["test"]["accuracy"] == pytest.approx(metrics[1]["test"]["accuracy"])
