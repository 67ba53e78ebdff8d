"""--log-to: csv always; tensorboard/mlflow give a clear error when their package is missing."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

import lmforge
from lmforge.config.train import TrainConfig
from lmforge.errors import ConfigError
from lmforge.training.tracking import open_tracker, tracker_problems
from tests.conftest import sentiment_rows, write_csv


def test_csv_history_of_a_finetune_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_csv(tmp_path / "d.csv", sentiment_rows(120))
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                           epochs=2, lr=2e-3, batch_size=16, max_length=32, show_progress=False,
                           baseline=False, early_stopping_patience=0, log_to="csv")
    metrics = json.loads((result.run_dir / "metrics.json").read_text(encoding="utf-8"))
    with open(result.run_dir / "metrics_history.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    losses = [r for r in rows if r["name"] == "train_loss"]
    assert len(losses) == metrics["train"]["steps"]
    assert [int(r["step"]) for r in losses] == list(range(1, metrics["train"]["steps"] + 1))
    f1 = [r for r in rows if r["name"] == "validation_macro_f1"]
    assert [r["epoch"] for r in f1] == ["1", "2"]
    assert float(f1[-1]["value"]) == pytest.approx(metrics["train"]["history"][-1]
                                                   ["validation_macro_f1"], rel=1e-4)
    assert "metrics_history.csv" in (result.run_dir / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["tensorboard", "mlflow"])
def test_missing_tracker_package_is_a_config_error(kind: str, tmp_path: Path) -> None:
    if importlib.util.find_spec(kind) is not None:
        pytest.skip(f"{kind} is installed")
    message = (f"log_to: {kind} needs the '{kind}' package, which is not installed; "
               f"`pip install 'lmforge[track]'` (or `pip install {kind}`), or use --log-to csv")
    assert tracker_problems(kind) == [message]
    with pytest.raises(ConfigError) as err:
        TrainConfig(data="d.csv", out="o", log_to=kind, setfit_iterations=0).validate()
    assert message in str(err.value) and "setfit_iterations: must be >= 1" in str(err.value)
    with pytest.raises(ConfigError, match="pip install 'lmforge\\[track\\]'"):
        open_tracker(kind, tmp_path, "run", {})


def test_csv_tracker_skips_non_numbers(tmp_path: Path) -> None:
    tracker = open_tracker("csv", tmp_path, "run", {})
    assert tracker is not None
    tracker.log({"loss": 0.5, "note": "x", "flag": True}, step=3, epoch=1)
    tracker.close()
    assert (tmp_path / "metrics_history.csv").read_text().splitlines() == [
        "step,epoch,name,value", "3,1,loss,0.5"]
    assert open_tracker("none", tmp_path, "run", {}) is None
