"""Experiment tracking: ``--log-to csv|tensorboard|mlflow``.

csv is ours (``RUN/metrics_history.csv``, one row per logged value:
``step,epoch,name,value``, easy to load in pandas and to diff); tensorboard and
mlflow are accelerate's trackers (``accelerate.tracking``), used directly so the
fine-tuning loop and the SetFit loop log the same way. TensorBoard writes under
``RUN/tensorboard/``; MLflow to ``$MLFLOW_TRACKING_URI`` or, by default, a file
store in ``./mlruns`` (not inside the run dir: the run is built in a temp dir and
renamed at the end, which would break the absolute paths MLflow records).
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.errors import ConfigError

log = logging.getLogger(__name__)

HISTORY_FILE = "metrics_history.csv"
NEEDS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}  # --log-to value -> import name


def tracker_problems(kind: str) -> list[str]:
    """Config problems of ``--log-to`` (a missing optional package), for TrainConfig.validate."""
    package = NEEDS.get(kind)
    if package and importlib.util.find_spec(package) is None:
        return [f"log_to: {kind} needs the '{package}' package, which is not installed; "
                f"`pip install 'lmforge[track]'` (or `pip install {package}`), or use --log-to csv"]
    return []


@dataclass
class Tracker:
    """Logs ``{name: number}`` per step to one backend; ``close()`` when done."""

    kind: str
    run_dir: Path
    backend: Any = None
    _csv: Any = None
    _writer: Any = None
    logged: int = field(default=0)

    def log(self, values: dict[str, Any], step: int, epoch: int | None = None) -> None:
        numbers = {k: float(v) for k, v in values.items()
                   if isinstance(v, int | float) and not isinstance(v, bool)}
        if not numbers:
            return
        self.logged += len(numbers)
        if self.kind == "csv":
            for name, value in numbers.items():
                self._writer.writerow([step, "" if epoch is None else epoch, name, f"{value:.6g}"])
            self._csv.flush()
        elif self.backend is not None:
            self.backend.log(numbers, step=step)

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self.backend is not None:
            self.backend.finish()
            self.backend = None


def open_tracker(kind: str, run_dir: Path, run_name: str, config: dict[str, Any]) -> Tracker | None:
    """A started tracker for ``kind`` writing for the run being built in ``run_dir``;
    None for ``none``."""
    if kind == "none":
        return None
    problems = tracker_problems(kind)
    if problems:
        raise ConfigError(problems[0])
    tracker = Tracker(kind=kind, run_dir=run_dir)
    if kind == "csv":
        run_dir.mkdir(parents=True, exist_ok=True)
        tracker._csv = open(run_dir / HISTORY_FILE, "w", encoding="utf-8", newline="")
        tracker._writer = csv.writer(tracker._csv, lineterminator="\n")
        tracker._writer.writerow(["step", "epoch", "name", "value"])
        return tracker
    params = {k: v for k, v in config.items() if isinstance(v, str | int | float | bool)}
    if kind == "tensorboard":
        from accelerate.tracking import TensorBoardTracker

        backend = TensorBoardTracker(run_name, run_dir / "tensorboard")
    elif kind == "mlflow":
        import mlflow
        from accelerate.tracking import MLflowTracker

        if not os.environ.get("MLFLOW_TRACKING_URI"):
            mlflow.set_tracking_uri((Path.cwd() / "mlruns").as_uri())
        backend = MLflowTracker(experiment_name="lmforge", run_name=run_name)
    else:
        raise ConfigError(f"log_to: unknown tracker '{kind}'; use none, csv, tensorboard or mlflow")
    backend.start()
    backend.store_init_configuration(params)
    tracker.backend = backend
    log.info("tracking to %s", kind)
    return tracker
