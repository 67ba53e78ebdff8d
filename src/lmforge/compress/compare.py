"""``lmforge compare RUN_DIR...``: the before/after table for any set of run directories.

Everything that can fail is checked before anything is timed: every run loads, the test
data loads, and every run knows the test data's labels. Then each run is scored, and
timed in interleaved rounds (``measure.time_rounds``) so that speed comes with its spread;
the notes give the load average around the timing and warn when two runs of the same
architecture differ too much in speed to be believed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.compress.measure import BenchSettings, Measurement

log = logging.getLogger(__name__)

DEFAULT_ROUNDS = 3
SAME_ARCHITECTURE_SPEED_RATIO = 2.0  # same backend and parameters, more apart: a warning
BUSY_LOAD_SHARE = 0.7  # a 1-minute load average over this share of the CPUs: "busy"


@dataclass
class Comparison:
    rows: list[Measurement]
    notes: list[str] = field(default_factory=list)
    load_average: dict[str, float] = field(default_factory=dict)  # "before" / "after" (1 min)


def compare(run_dirs: Sequence[str | os.PathLike[str]], data: str | None = None,
            bench: BenchSettings | None = None) -> Comparison:
    """One row per run, in the order given; all scored on the same test data, then timed
    in ``bench.rounds`` interleaved rounds.

    The test data is ``data`` when given, else the first run's test file or split
    (runs derived from one another share it).
    """
    from lmforge.compress.measure import SAMPLE_TEXTS, measure, time_rounds
    from lmforge.compress.rundata import score, test_examples
    from lmforge.errors import ConfigError
    from lmforge.rundir import check_run_dir
    from lmforge.runs.load import load_run

    if not run_dirs:
        raise ConfigError("compare needs at least one run directory")
    paths = [check_run_dir(p) for p in run_dirs]  # every bad path reported before any work
    bench = bench or BenchSettings(rounds=DEFAULT_ROUNDS)
    models = [load_run(path, num_threads=bench.threads) for path in paths]
    test = test_examples(models[0].settings, models[0].task, data)
    check_comparable(models, paths, test)
    metrics = [score(clf, test) if test is not None and len(test) else {} for clf in models]

    texts = list(test.texts) if test is not None and len(test) else list(SAMPLE_TEXTS)
    load = {"before": _load_average()}
    timings = time_rounds(models, texts, bench)
    load["after"] = _load_average()
    rows: list[Measurement] = []
    for path, clf, t, m in zip(paths, models, timings, metrics, strict=True):
        rows.append(measure(clf, _unique_name(path, rows), test, bench, timings=t, metrics=m))
    notes = speed_notes(rows, load, os.cpu_count() or 1)
    for note in notes:
        if note.startswith("warning"):
            log.warning("%s", note)
    return Comparison(rows, notes, {k: v for k, v in load.items() if v is not None})


def compare_runs(run_dirs: Sequence[str | os.PathLike[str]], data: str | None = None,
                 bench: BenchSettings | None = None) -> list[Measurement]:
    """``compare``'s rows alone."""
    return compare(run_dirs, data, bench).rows


def check_comparable(models: Sequence[Any], paths: Sequence[Path], test: Any) -> None:
    """Every problem that would stop the comparison half-way, in one error, before any
    timing: runs of different tasks, runs that do not know the test data's labels."""
    from lmforge.errors import DataError
    from lmforge.labels import check_known

    problems = []
    tasks = {getattr(m, "task", None) for m in models}
    if len(tasks) > 1:
        problems.append("the runs solve different tasks (" + ", ".join(
            f"{p.name}: {getattr(m, 'task', '?')}" for p, m in zip(paths, models, strict=True))
            + "); compare runs of one task")
    if test is not None and len(test):
        for path, clf in zip(paths, models, strict=True):
            try:
                check_known(clf.task, test.targets, clf.labels, f"{path.name}: {test.source}")
            except DataError as exc:
                problems.append(str(exc))
    if problems:
        raise DataError("cannot compare these runs (nothing was timed): " + "; ".join(problems))


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # not on every platform (Windows)
        return None


def speed_notes(rows: Sequence[Measurement], load: dict[str, float | None],
                cpus: int) -> list[str]:
    """The machine's load around the timing, and a warning for each pair of runs of the same
    architecture (backend and parameter count) more than 2x apart in throughput."""
    notes = []
    values = [v for v in load.values() if v is not None]
    if values:
        busy = max(values) > BUSY_LOAD_SHARE * cpus
        notes.append(("warning: the machine was busy while timing" if busy else
                      "the machine was quiet while timing")
                     + f" (load average {load.get('before') or 0:.2f} before, "
                     f"{load.get('after') or 0:.2f} after, {cpus} CPUs)"
                     + ("; speed figures are slower and noisier than on an idle machine: "
                        "rerun when it is idle, or compare only runs timed together." if busy
                        else "."))
    groups: dict[tuple[str, int], list[Measurement]] = {}
    for row in rows:
        groups.setdefault((row.backend, row.parameters), []).append(row)
    for (backend, parameters), same in groups.items():
        if len(same) < 2:
            continue
        fast = max(same, key=lambda r: r.throughput)
        slow = min(same, key=lambda r: r.throughput)
        if slow.throughput and fast.throughput / slow.throughput > SAME_ARCHITECTURE_SPEED_RATIO:
            notes.append(
                f"warning: {fast.name} and {slow.name} have the same architecture ({backend}, "
                f"{parameters:,} parameters) but {fast.throughput / slow.throughput:.1f}x "
                "different throughput: the machine's load changed during timing, not the "
                "models; rerun with more --rounds on an idle machine before trusting it.")
    return notes


def _unique_name(path: Path, rows: Sequence[Measurement]) -> str:
    name = path.name or str(path)
    taken = {r.name for r in rows}
    return name if name not in taken else str(path)
