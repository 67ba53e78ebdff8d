"""Texts longer than the model reads (``max_length`` tokens): logged by default, one line per
call, or counted instead where a caller reports them itself.

The server predicts for every request: a log line for each long text of each request would
flood its log, so it runs predictions inside ``counting_long_texts()`` and puts the counts in
/metrics. A context variable, not a flag on the model: the same loaded model serves library
calls (which log) and the server's worker thread (which counts) alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class LongTexts:
    shortened: int = 0
    """Texts cut to ``max_length`` tokens (the run's truncation strategy)."""
    windowed: int = 0
    """Texts (or token sentences) read whole as several windows."""


_counts: ContextVar[LongTexts | None] = ContextVar("lmforge_long_texts", default=None)


@contextmanager
def counting_long_texts() -> Iterator[LongTexts]:
    """Within the block (this thread or task only), long texts are added to the yielded
    ``LongTexts`` instead of being logged."""
    counts = LongTexts()
    token = _counts.set(counts)
    try:
        yield counts
    finally:
        _counts.reset(token)


def note_long_texts(n_long: int, n_texts: int, max_length: int, truncation: str | None,
                    unit: str = "texts") -> None:
    """``n_long`` of ``n_texts`` were over ``max_length`` tokens: shortened with the strategy
    ``truncation``, or read as windows when it is None. Counted inside
    ``counting_long_texts()``, else logged."""
    if not n_long:
        return
    counts = _counts.get()
    if counts is not None:
        if truncation is None:
            counts.windowed += n_long
        else:
            counts.shortened += n_long
        return
    if truncation is None:
        log.info("%d of %d %s were longer than %d tokens and were read as windows", n_long,
                 n_texts, unit, max_length)
    else:
        log.info("%d of %d %s were longer than %d tokens and were shortened (%s)", n_long,
                 n_texts, unit, max_length, truncation)
