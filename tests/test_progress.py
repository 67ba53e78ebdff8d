"""Progress that fits where it is shown: a live bar on a terminal, a few log lines elsewhere."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from lmforge.progress import Progress, log_every


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A clock that the test moves: each batch takes a second."""
    import lmforge.progress as progress

    now = [1000.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    return now


def run_batches(stream: io.StringIO, clock: list[float], n: int = 16, **options) -> Progress:
    progress = Progress("epoch 1/1", total=n, unit="batch", stream=stream, **options)
    for _ in range(n):
        clock[0] += 1.0
        if progress.due():
            progress.set(loss="0.5000")
        progress.update()
    progress.close()
    return progress


def test_off_a_terminal_a_few_log_lines_and_no_carriage_return(
        clock: list[float], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMFORGE_PROGRESS_SECONDS", "5")
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="lmforge.progress"):
        run_batches(stream, clock)
    assert stream.getvalue() == ""  # nothing on the stream itself, let alone a \r
    lines = [r.getMessage() for r in caplog.records]
    assert "\r" not in "".join(lines)
    # a line every 5 s of 16 s, and one saying it ended: not one per batch
    assert len(lines) == 4, lines
    assert lines[0] == ("epoch 1/1: 5/16 batches (31%), 1.0 batches/s, about 11 s left, "
                        "loss 0.5000")
    assert lines[-1] == "epoch 1/1: 16/16 batches (100%), 1.0 batches/s, done in 16 s, loss 0.5000"


def test_a_short_loop_off_a_terminal_writes_nothing(clock: list[float],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="lmforge.progress"):
        run_batches(stream, clock)  # 16 s, under the default 30 s
    assert stream.getvalue() == "" and not caplog.records


def test_on_a_terminal_a_live_bar_redrawn_in_place(clock: list[float],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    terminal = FakeTerminal()
    with caplog.at_level(logging.INFO, logger="lmforge.progress"):
        run_batches(terminal, clock, leave=True)
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 17  # every update (a second apart), then the final state
    assert drawn.endswith("\n") and not caplog.records
    last = drawn.split("\r")[-1]
    assert last.startswith("epoch 1/1: 100%|" + "█" * 20 + "| 16/16 [16 s<0 s, 1.0 batches/s")
    assert "loss=0.5000" in last


def test_a_bar_that_does_not_stay_is_cleared(clock: list[float]) -> None:
    terminal = FakeTerminal()
    run_batches(terminal, clock, leave=False)
    assert terminal.getvalue().endswith("\r\x1b[K")


def test_disabled_shows_nothing(clock: list[float], caplog: pytest.LogCaptureFixture) -> None:
    terminal = FakeTerminal()
    with caplog.at_level(logging.INFO, logger="lmforge.progress"):
        run_batches(terminal, clock, enabled=False, every=0)
    assert terminal.getvalue() == "" and not caplog.records


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("LMFORGE_PROGRESS_SECONDS", raising=False)
    assert log_every() == 30.0
    monkeypatch.setenv("LMFORGE_PROGRESS_SECONDS", "2.5")
    assert log_every() == 2.5
    monkeypatch.setenv("LMFORGE_PROGRESS_SECONDS", "often")
    assert log_every() == 30.0
    assert "LMFORGE_PROGRESS_SECONDS='often' is not a number of seconds" in caplog.text


def test_training_off_a_terminal_writes_no_carriage_return(
        tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real loop, 16 batches, stderr not a terminal (pytest's capture): no \\r updates
    (it used to write 32), no line per batch, the epoch's own line."""
    import lmforge
    from tests.conftest import sentiment_rows, write_csv
    from tests.helpers import TINY_RUN, session_rng_kept

    monkeypatch.delenv("LMFORGE_PROGRESS_SECONDS", raising=False)
    data = write_csv(tmp_path / "train.csv", sentiment_rows(200))
    with caplog.at_level(logging.INFO, logger="lmforge"), session_rng_kept():
        result = lmforge.train(data=str(data), out=str(tmp_path / "run"),
                               model=str(tiny_model_dir), epochs=1,
                               **{**TINY_RUN, "show_progress": True, "batch_size": 9})
    assert -(-result.metrics["data"]["splits"]["train"] // 9) == 16  # 16 batches
    printed = capsys.readouterr()
    assert "\r" not in printed.err and "\r" not in printed.out
    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if "batches/s" in line]) <= 2
    assert any(line.startswith("epoch 1/1: train loss") for line in lines)
