"""``lmforge compare RUN_DIR...``: the before/after table for any set of run directories."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from lmforge.compress.measure import BenchSettings, Measurement

log = logging.getLogger(__name__)


def compare_runs(run_dirs: Sequence[str | os.PathLike[str]], data: str | None = None,
                 bench: BenchSettings | None = None) -> list[Measurement]:
    """One row per run, in the order given; all scored on the same test data.

    The test data is ``data`` when given, else the first run's test file or split
    (runs derived from one another share it).
    """
    from lmforge.compress.measure import measure
    from lmforge.compress.rundata import test_examples
    from lmforge.errors import ConfigError
    from lmforge.rundir import check_run_dir
    from lmforge.runs.load import load_run

    if not run_dirs:
        raise ConfigError("compare needs at least one run directory")
    paths = [check_run_dir(p) for p in run_dirs]  # every bad path reported before any work
    bench = bench or BenchSettings()
    rows: list[Measurement] = []
    test = None
    for i, path in enumerate(paths):
        clf = load_run(path, num_threads=bench.threads)
        if i == 0:
            test = test_examples(clf.settings, clf.task, data)
        rows.append(measure(clf, _unique_name(path, rows), test, bench))
    return rows


def _unique_name(path: Path, rows: Sequence[Measurement]) -> str:
    name = path.name or str(path)
    taken = {r.name for r in rows}
    return name if name not in taken else str(path)
