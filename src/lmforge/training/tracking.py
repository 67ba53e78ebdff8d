"""Experiment tracking: ``--log-to csv|tensorboard|mlflow``.

csv is ours (``RUN/metrics_history.csv``, one row per logged value:
``step,epoch,name,value``, easy to load in pandas and to diff); tensorboard and
mlflow are accelerate's trackers (``accelerate.tracking``), used directly so the
fine-tuning loop and the SetFit loop log the same way. TensorBoard writes under
``RUN/tensorboard/``; MLflow to ``$MLFLOW_TRACKING_URI`` or, by default, a file
store in ``./mlruns`` (not inside the run dir: the run is built in a temp dir and
renamed at the end, which would break the absolute paths MLflow records). MLflow 3
refuses file stores unless ``MLFLOW_ALLOW_FILE_STORE=true`` (it wants a database,
i.e. SQLAlchemy, which mlflow-skinny does not bring), so that default sets it for this
process; reading ``./mlruns`` back elsewhere needs the same variable.

``RUN/tracking.json`` says where the values went: the csv file, the TensorBoard
logdir, or the MLflow tracking URI, experiment and run id.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lmforge.config.train import tracker_problems
from lmforge.errors import ConfigError
from lmforge.rundir import write_json

log = logging.getLogger(__name__)

HISTORY_FILE = "metrics_history.csv"
TRACKING_FILE = "tracking.json"
FINAL_METRICS = ("accuracy", "macro_f1", "loss", "mse", "mae", "r2", "micro_f1")


@dataclass
class Tracker:
    """Logs ``{name: number}`` per step to one backend; ``close()`` when done."""

    kind: str
    run_dir: Path
    backend: Any = None
    _csv: Any = None
    _writer: Any = None
    logged: int = field(default=0)
    where: dict[str, Any] = field(default_factory=dict)  # -> RUN/tracking.json at close()
    unset_mlflow_uri: bool = False  # we set mlflow's global URI to ./mlruns: undo it at close()

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

    def rewind(self, step: int) -> None:
        """A resumed run continues after ``step``: the csv drops what was logged later (before
        the kill); TensorBoard and MLflow keep it, so steps after ``step`` may show twice."""
        if self.kind != "csv":
            log.info("resumed at step %d: %s may show the steps after it twice", step, self.kind)
            return
        path = self.run_dir / HISTORY_FILE
        self._csv.close()
        with open(path, encoding="utf-8", newline="") as stream:
            rows = list(csv.reader(stream))
        kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
        with open(path, "w", encoding="utf-8", newline="") as stream:
            csv.writer(stream, lineterminator="\n").writerows(kept)
        self.logged = len(kept) - 1
        self._csv = open(path, "a", encoding="utf-8", newline="")
        self._writer = csv.writer(self._csv, lineterminator="\n")

    def log_final(self, split: str, metrics: dict[str, Any], step: int, epoch: int | None) -> None:
        """The scores of a finished run (``test_accuracy``...) at its last step."""
        self.log({f"{split}_{k}": metrics[k] for k in FINAL_METRICS if k in metrics}, step, epoch)

    def close(self, failed: bool = False) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self.backend is not None:
            if failed and self.kind == "mlflow":
                import mlflow

                mlflow.end_run(status="FAILED")  # accelerate's finish() would say FINISHED
            self.backend.finish()
            self.backend = None
        if self.unset_mlflow_uri:
            import mlflow

            # set_tracking_uri also exported $MLFLOW_TRACKING_URI: the next run, maybe in
            # another directory, must again default to its own ./mlruns
            mlflow.set_tracking_uri(None)
            self.unset_mlflow_uri = False
        if self.where:
            write_json(self.run_dir / TRACKING_FILE, {**self.where, "values_logged": self.logged})
            self.where = {}


@contextmanager
def tracking(kind: str, run_dir: Path, run_name: str, config: dict[str, Any],
             resume: bool = False) -> Iterator[Tracker | None]:
    """``open_tracker`` for a ``with`` block: closed at its end, marked failed (MLflow run
    status FAILED) when the block raises; the exception still propagates."""
    tracker = open_tracker(kind, run_dir, run_name, config, resume)
    try:
        yield tracker
    except BaseException:
        if tracker is not None:
            tracker.close(failed=True)
        raise
    if tracker is not None:
        tracker.close()


def open_tracker(kind: str, run_dir: Path, run_name: str, config: dict[str, Any],
                 resume: bool = False) -> Tracker | None:
    """A started tracker for ``kind`` writing for the run being built in ``run_dir``;
    None for ``none``. ``resume``: the csv is continued (see ``Tracker.rewind``)."""
    if kind == "none":
        return None
    problems = tracker_problems(kind)
    if problems:
        raise ConfigError(problems[0])
    tracker = Tracker(kind=kind, run_dir=run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        again = resume and (run_dir / HISTORY_FILE).exists()
        tracker._csv = open(run_dir / HISTORY_FILE, "a" if again else "w", encoding="utf-8",
                            newline="")
        tracker._writer = csv.writer(tracker._csv, lineterminator="\n")
        if not again:
            tracker._writer.writerow(["step", "epoch", "name", "value"])
        tracker.where = {"log_to": "csv", "file": HISTORY_FILE}
        return tracker
    params = {k: v for k, v in config.items() if isinstance(v, str | int | float | bool)}
    if kind == "tensorboard":
        from accelerate.tracking import TensorBoardTracker

        backend = TensorBoardTracker(run_name, run_dir / "tensorboard")
        backend.start()
        tracker.where = {"log_to": "tensorboard", "logdir": f"tensorboard/{run_name}"}
    elif kind == "mlflow":
        backend, tracker.where, tracker.unset_mlflow_uri = _start_mlflow(run_name)
    else:
        raise ConfigError(f"log_to: unknown tracker '{kind}'; use none, csv, tensorboard or mlflow")
    tracker.backend = backend
    try:
        backend.store_init_configuration(params)
    except BaseException:
        tracker.close()  # end the backend's run; the error still propagates
        raise
    log.info("tracking to %s: %s", kind, ", ".join(f"{k} {v}" for k, v in tracker.where.items()
                                                   if k != "log_to"))
    return tracker


def _start_mlflow(run_name: str) -> tuple[Any, dict[str, Any], bool]:
    """accelerate's MLflowTracker, started; where its run is; whether we set the default URI.
    The store is the one the user chose ($MLFLOW_TRACKING_URI or ``mlflow.set_tracking_uri``),
    else ``./mlruns``."""
    import mlflow
    from accelerate.tracking import MLflowTracker

    set_default = not mlflow.is_tracking_uri_set()
    if set_default:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri((Path.cwd() / "mlruns").as_uri())
    backend = MLflowTracker(experiment_name="lmforge", run_name=run_name)
    try:
        backend.start()
    except BaseException:
        if set_default:
            mlflow.set_tracking_uri(None)
        raise
    info = backend.active_run.info
    where = {"log_to": "mlflow", "tracking_uri": _without_password(mlflow.get_tracking_uri()),
             "experiment_id": info.experiment_id, "experiment_name": backend.experiment_name,
             "run_id": info.run_id, "run_name": info.run_name}
    return backend, where, set_default


def _without_password(uri: str) -> str:
    """A tracking URI fit to write into the run dir: ``https://user:secret@host`` loses the secret."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{netloc}"))
