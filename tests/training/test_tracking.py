"""--log-to: csv, tensorboard and mlflow for real (values read back with each tool's own reader);
a clear error when tensorboard/mlflow is missing; mlflow stays out of `import lmforge`."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import lmforge
from lmforge.config.train import TrainConfig
from lmforge.errors import ConfigError
from lmforge.training import tracking
from lmforge.training.tracking import open_tracker, tracker_problems
from tests.conftest import sentiment_rows, write_csv

FAST = dict(epochs=2, lr=2e-3, batch_size=16, max_length=32, show_progress=False, baseline=False,
            early_stopping_patience=0)


def _spy_on_logged(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[int, float]]]:
    """{name: [(step, value), ...]} of everything the training loop hands to a Tracker."""
    seen: dict[str, list[tuple[int, float]]] = {}
    real_log = tracking.Tracker.log

    def log(self: tracking.Tracker, values: dict[str, Any], step: int, epoch: int | None = None) -> None:
        for name, value in values.items():
            seen.setdefault(name, []).append((step, float(value)))
        real_log(self, values, step, epoch)

    monkeypatch.setattr(tracking.Tracker, "log", log)
    return seen


def _assert_same(got: list[tuple[int, float]], want: list[tuple[int, float]], rel: float) -> None:
    """Same steps, values equal up to ``rel`` (TensorBoard stores float32)."""
    assert [step for step, _ in got] == [step for step, _ in want]
    assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=rel)


def _validation_history(metrics: dict[str, Any], name: str) -> list[tuple[int, float]]:
    return [(e["step"], e[name]) for e in metrics["train"]["history"]]


@pytest.fixture
def no_mlflow_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No MLFLOW_* settings (restored afterwards, including the ones mlflow/we export), cwd tmp_path."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_ALLOW_FILE_STORE", "MLFLOW_EXPERIMENT_NAME",
                 "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_csv_history_of_a_finetune_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_csv(tmp_path / "d.csv", sentiment_rows(120))
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                           log_to="csv", **FAST)
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
    where = json.loads((result.run_dir / "tracking.json").read_text(encoding="utf-8"))
    assert where == {"log_to": "csv", "file": "metrics_history.csv", "values_logged": len(rows)}


def test_tensorboard_event_files_hold_the_logged_values(tmp_path: Path, tiny_model_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    seen = _spy_on_logged(monkeypatch)
    data = write_csv(tmp_path / "d.csv", sentiment_rows(120))
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                           log_to="tensorboard", **FAST)
    metrics = result.metrics
    where = json.loads((result.run_dir / "tracking.json").read_text(encoding="utf-8"))
    assert where["log_to"] == "tensorboard" and where["logdir"] == "tensorboard/run"
    logdir = result.run_dir / where["logdir"]
    assert list(logdir.glob("events.out.tfevents.*"))
    events = EventAccumulator(str(logdir))
    events.Reload()

    def scalars(name: str) -> list[tuple[int, float]]:
        return [(e.step, e.value) for e in events.Scalars(name)]

    steps = metrics["train"]["steps"]
    assert [s for s, _ in scalars("train_loss")] == list(range(1, steps + 1))
    _assert_same(scalars("train_loss"), seen["train_loss"], rel=1e-6)  # float32 in the file
    _assert_same(scalars("lr"), seen["lr"], rel=1e-6)
    for name in ("validation_macro_f1", "validation_accuracy", "validation_loss"):
        _assert_same(scalars(name), _validation_history(metrics, name), rel=1e-6), name
    assert [s for s, _ in scalars("validation_loss")] == [steps // 2, steps]
    assert where["values_logged"] == sum(len(v) for v in seen.values())
    # the config went in as hyperparameters (accelerate writes them beside the scalars)
    (hparams,) = logdir.glob("*/hparams.yml")
    assert "lr: 0.002" in hparams.read_text(encoding="utf-8")


def test_mlflow_run_in_a_local_file_store(no_mlflow_env: Path, tiny_model_dir: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    seen = _spy_on_logged(monkeypatch)
    data = write_csv(no_mlflow_env / "d.csv", sentiment_rows(120))
    capfd.readouterr()
    result = lmforge.train(data=str(data), out=str(no_mlflow_env / "run"), model=str(tiny_model_dir),
                           log_to="mlflow", **FAST)
    captured = capfd.readouterr()
    assert "mlflow" not in (captured.out + captured.err).lower()  # MLflow itself stays quiet
    store = no_mlflow_env / "mlruns"
    assert store.is_dir() and not (result.run_dir / "mlruns").exists()
    where = json.loads((result.run_dir / "tracking.json").read_text(encoding="utf-8"))
    assert where["log_to"] == "mlflow" and where["tracking_uri"] == store.as_uri()
    assert where["experiment_name"] == "lmforge" and where["run_name"] == "run"

    client = MlflowClient(tracking_uri=where["tracking_uri"])
    run = client.get_run(where["run_id"])
    assert run.info.status == "FINISHED" and run.info.experiment_id == where["experiment_id"]

    def history(name: str) -> list[tuple[int, float]]:
        return sorted((m.step, m.value) for m in client.get_metric_history(where["run_id"], name))

    steps = result.metrics["train"]["steps"]
    assert [s for s, _ in history("train_loss")] == list(range(1, steps + 1))
    _assert_same(history("train_loss"), seen["train_loss"], rel=1e-9)
    _assert_same(history("lr"), seen["lr"], rel=1e-9)
    for name in ("validation_macro_f1", "validation_accuracy", "validation_loss"):
        _assert_same(history(name), _validation_history(result.metrics, name), rel=1e-9)
    params = run.data.params
    assert params["lr"] == "0.002" and params["epochs"] == "2" and params["batch_size"] == "16"
    assert params["model"] == str(tiny_model_dir) and params["log_to"] == "mlflow"
    # mlflow's global URI (which it also exports as $MLFLOW_TRACKING_URI) is not left behind
    assert not mlflow.is_tracking_uri_set()
    assert "mlflow" in (result.run_dir / "report.md").read_text(encoding="utf-8").lower()
    # the run's final test scores go to the tracker too, at the last step
    test = result.metrics["test"]
    assert history("test_accuracy") == [(steps, pytest.approx(test["accuracy"], rel=1e-9))]
    assert history("test_macro_f1") == [(steps, pytest.approx(test["macro_f1"], rel=1e-9))]


def test_a_run_that_fails_is_a_failed_mlflow_run(no_mlflow_env: Path, tiny_model_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    from lmforge.training import loop

    def broken_fit(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(loop, "fit", broken_fit)
    data = write_csv(no_mlflow_env / "d.csv", sentiment_rows(60))
    with pytest.raises(RuntimeError, match="simulated"):
        lmforge.train(data=str(data), out=str(no_mlflow_env / "run"), model=str(tiny_model_dir),
                      log_to="mlflow", **FAST)
    assert not (no_mlflow_env / "run").exists()  # the run dir is never half-written
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # to read the store back
    client = MlflowClient(tracking_uri=(no_mlflow_env / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("lmforge")
    runs = client.search_runs([experiment.experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"] and runs[0].info.run_name == "run"
    assert mlflow.active_run() is None and not mlflow.is_tracking_uri_set()


def test_mlflow_default_store_follows_the_working_directory(no_mlflow_env: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    run_ids = []
    for name in ("a", "b"):
        (no_mlflow_env / name).mkdir()
        monkeypatch.chdir(no_mlflow_env / name)
        tracker = open_tracker("mlflow", no_mlflow_env / name / "run", f"run-{name}", {"lr": 0.5})
        assert tracker is not None
        tracker.log({"loss": 1.5, "note": "not a number"}, step=1)
        tracker.close()
        where = json.loads((no_mlflow_env / name / "run" / "tracking.json").read_text())
        assert where["tracking_uri"] == (no_mlflow_env / name / "mlruns").as_uri()
        assert where["values_logged"] == 1
        run_ids.append(where["run_id"])
        client = MlflowClient(tracking_uri=where["tracking_uri"])
        assert [m.value for m in client.get_metric_history(where["run_id"], "loss")] == [1.5]
        assert client.get_run(where["run_id"]).data.params == {"lr": "0.5"}
    assert run_ids[0] != run_ids[1]


def test_mlflow_tracking_uri_from_the_environment(no_mlflow_env: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    elsewhere = (no_mlflow_env / "team-store").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", elsewhere)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the user's own file store: their opt-in
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "sentiment")
    tracker = open_tracker("mlflow", no_mlflow_env / "run", "run", {"epochs": 3})
    assert tracker is not None
    tracker.log({"loss": 0.25}, step=2)
    tracker.close()
    where = json.loads((no_mlflow_env / "run" / "tracking.json").read_text())
    assert where["tracking_uri"] == elsewhere and where["experiment_name"] == "sentiment"
    assert not (no_mlflow_env / "mlruns").exists()
    history = MlflowClient(tracking_uri=elsewhere).get_metric_history(where["run_id"], "loss")
    assert [(m.step, m.value) for m in history] == [(2, 0.25)]
    assert os.environ["MLFLOW_TRACKING_URI"] == elsewhere  # the user's setting is left alone


def test_tracking_uri_written_without_its_password() -> None:
    assert tracking._without_password("https://me:s3cret@mlflow.example:5000/x") == \
        "https://me@mlflow.example:5000/x"
    assert tracking._without_password("file:///tmp/mlruns") == "file:///tmp/mlruns"


@pytest.mark.parametrize("kind", ["tensorboard", "mlflow"])
def test_missing_tracker_package_is_a_config_error(kind: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # both are installed for the tests: None in sys.modules is how Python spells "cannot import"
    monkeypatch.setitem(sys.modules, kind, None)
    message = (f"log_to: {kind} needs the '{kind}' package, which is not installed; "
               f"`pip install 'lmforge[track]'` (or `pip install {kind}`), or use --log-to csv")
    assert tracker_problems(kind) == [message]
    with pytest.raises(ConfigError) as err:
        TrainConfig(data="d.csv", out="o", log_to=kind, setfit_iterations=0).validate()
    assert message in str(err.value) and "setfit_iterations: must be >= 1" in str(err.value)
    with pytest.raises(ConfigError, match="pip install 'lmforge\\[track\\]'"):
        open_tracker(kind, tmp_path, "run", {})
    assert not (tmp_path / "tracking.json").exists()


def test_csv_tracker_skips_non_numbers(tmp_path: Path) -> None:
    tracker = open_tracker("csv", tmp_path, "run", {})
    assert tracker is not None
    tracker.log({"loss": 0.5, "note": "x", "flag": True}, step=3, epoch=1)
    tracker.close()
    assert (tmp_path / "metrics_history.csv").read_text().splitlines() == [
        "step,epoch,name,value", "3,1,loss,0.5"]
    assert open_tracker("none", tmp_path, "run", {}) is None


def test_trackers_stay_out_of_import_and_parser() -> None:
    code = ("import sys, lmforge; from lmforge.cli import build_parser; build_parser(); "
            "import lmforge.training.tracking; "
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'tensorboard')); "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)
