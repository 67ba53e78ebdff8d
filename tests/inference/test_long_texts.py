"""Texts over max_length: one log line per call, or counted instead inside
``counting_long_texts()`` (what the server does, to put them in /metrics)."""

from __future__ import annotations

import logging
import threading

import pytest

from lmforge.inference.long_texts import counting_long_texts, note_long_texts


def test_logged_by_default_counted_inside_the_block(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lmforge.inference")
    note_long_texts(2, 5, 64, "head+tail")
    note_long_texts(0, 5, 64, "head+tail")  # none long: nothing said
    assert [r.getMessage() for r in caplog.records] == [
        "2 of 5 texts were longer than 64 tokens and were shortened (head+tail)"]
    caplog.clear()
    with counting_long_texts() as counts:
        note_long_texts(2, 5, 64, "head+tail")
        note_long_texts(3, 4, 64, None, "sentences")
    assert (counts.shortened, counts.windowed) == (2, 3)
    assert caplog.records == []
    note_long_texts(1, 1, 64, None)  # after the block: logged again
    assert [r.getMessage() for r in caplog.records] == [
        "1 of 1 texts were longer than 64 tokens and were read as windows"]


def test_the_count_belongs_to_the_thread_that_opened_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lmforge.inference")
    with counting_long_texts() as counts:
        other = threading.Thread(target=note_long_texts, args=(7, 7, 64, "head"))
        other.start()
        other.join()
    assert counts.shortened == 0
    assert len(caplog.records) == 1
