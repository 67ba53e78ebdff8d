"""Tiny run directories trained by `lmforge.train` (tests.helpers), and the CLI runner."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.helpers import make_run, train_tfidf_run

# One thread: the tiny model gains nothing from more, and on a busy 2-core machine
# OpenMP threads waiting on each other cost seconds per test.
FAST_BENCH = {"threads": 1, "latency_runs": 3, "throughput_texts": 64}
FAST_BENCH_FLAGS = ["--threads", "1", "--latency-runs", "3", "--throughput-texts", "64"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 layers x 4 heads, hidden 32, trained one epoch by `lmforge.train`. Read-only: tests
    write their outputs elsewhere."""
    return make_run(tmp_path_factory.mktemp("tiny-run"), layers=2, heads=4, hidden=32)


@pytest.fixture(scope="session")
def tfidf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: `lmforge train --model tfidf` on 300 synthetic reviews."""
    return train_tfidf_run(tmp_path_factory.mktemp("tfidf-run"))


def run_cli(argv: Sequence[str]) -> int:
    """``lmforge.cli.main``: exit code; messages on the captured stdout/stderr."""
    from lmforge import cli

    return cli.main(list(argv))
