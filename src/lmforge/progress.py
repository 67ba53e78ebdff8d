"""Progress that fits where it is shown.

On a terminal (the stream, stderr by default, is a tty) a live bar, redrawn in place
with ``\\r`` a few times a second: done/total, rate, time left, and fields such as the
loss. Anywhere else (a CI log, a file, a pipe) a plain INFO log line at most every
``LMFORGE_PROGRESS_SECONDS`` seconds (default 30), never a line per step: a log gets
a handful of lines for a long loop, and none for a short one (the caller logs its own
end-of-epoch or end-of-job line).

Used by training, pre-training, predict, generate and prompt classify::

    progress = Progress("epoch 1/3", total=len(batches), unit="batch", leave=False)
    for batch in batches:
        ...
        if progress.due():
            progress.set(loss=f"{loss.item():.4f}")  # read back only when shown
        progress.update()
    progress.close()
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

log = logging.getLogger("lmforge.progress")

EVERY_ENV = "LMFORGE_PROGRESS_SECONDS"
DEFAULT_EVERY = 30.0  # seconds between two log lines off a terminal
REDRAW = 0.1  # seconds between two redraws of a live bar
DELAY = 0.5  # a live bar appears only for a loop that lasts longer than this
BAR_WIDTH = 20


def log_every() -> float:
    """Seconds between progress lines off a terminal: ``$LMFORGE_PROGRESS_SECONDS`` or 30."""
    value = os.environ.get(EVERY_ENV, "").strip()
    if not value:
        return DEFAULT_EVERY
    try:
        seconds = float(value)
    except ValueError:
        log.warning("%s=%r is not a number of seconds; using %.0f", EVERY_ENV, value,
                    DEFAULT_EVERY)
        return DEFAULT_EVERY
    return max(0.0, seconds)


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class Progress:
    """Progress of one loop: ``update(n)`` after each step, ``close()`` at the end (or use it
    as a context manager). ``total`` may be unknown (None); ``fraction`` then gives how
    far the job is (e.g. bytes of a file read), for the time left. ``enabled=False`` shows
    nothing (``--no-show-progress``, or a worker process that is not the main one)."""

    def __init__(self, what: str, total: int | None = None, unit: str = "it", *,
                 enabled: bool = True, stream: TextIO | None = None, every: float | None = None,
                 leave: bool = True, initial: int = 0,
                 fraction: Callable[[], float | None] | None = None) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.live = enabled and is_terminal(self.stream)
        self.every = log_every() if every is None else every
        self.leave = leave
        self.fraction = fraction
        self.done = self.initial = initial
        self.fields: dict[str, Any] = {}
        self.start = time.perf_counter()
        self.last = self.start  # the last redraw (live) or log line (not live)
        self.lines = 0  # log lines written
        self.drawn = False  # a live bar is on screen
        self.closed = False

    # -- what callers call -------------------------------------------------------------

    def due(self) -> bool:
        """Whether the next ``update`` will show something: fields that cost something to
        compute (a loss read back from the GPU) are worth setting only then."""
        if not self.enabled:
            return False
        now = time.perf_counter()
        if self.live:
            return now - self.start >= DELAY and now - self.last >= REDRAW
        return now - self.last >= self.every

    def set(self, **fields: Any) -> None:
        """Fields shown after the counts (``loss="0.4321"``), until set again."""
        self.fields.update(fields)

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.due():
            return
        self.last = time.perf_counter()
        if self.live:
            self._draw()
        else:
            self.lines += 1
            log.info("%s", self.describe())

    def close(self) -> None:
        if self.closed or not self.enabled:
            self.closed = True
            return
        self.closed = True
        if self.live:
            if self.drawn and self.leave:
                self._draw()
                self.stream.write("\n")
            elif self.drawn:
                self.stream.write("\r\x1b[K")  # clear the bar's line
            self.stream.flush()
        elif self.lines:  # a long loop said where it was: say it ended
            log.info("%s", self.describe(final=True))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what is shown -----------------------------------------------------------------

    def describe(self, final: bool = False) -> str:
        """One line: 'epoch 1/3: 120/500 batches (24%), 12.3 batches/s, about 31 s left,
        loss 0.4321'."""
        elapsed = time.perf_counter() - self.start
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        share = self._share()
        count = f"{self.done:,}/{self.total:,}" if self.total else f"{self.done:,}"
        parts = [f"{count} {self._units()}" + (f" ({share:.0%})" if share is not None else "")]
        parts.append(f"{_rate(rate)} {self._units()}/s")
        if final:
            parts.append(f"done in {_duration(elapsed)}")
        elif share:
            parts.append(f"about {_duration(elapsed * (1 - share) / share)} left")
        parts += [f"{k.replace('_', ' ')} {v}" for k, v in self.fields.items()]
        return f"{self.what}: " + ", ".join(parts)

    def _share(self) -> float | None:
        if self.total:
            return min(1.0, self.done / self.total)
        if self.fraction is not None:
            return self.fraction()
        return None

    def _units(self) -> str:
        return self.unit + ("es" if self.unit.endswith(("s", "x", "ch", "sh")) else "s")

    def _draw(self) -> None:
        elapsed = time.perf_counter() - self.start
        share = self._share()
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        if share is not None:
            filled = int(share * BAR_WIDTH)
            bar = f"{share:4.0%}|{'█' * filled}{' ' * (BAR_WIDTH - filled)}| "
        else:
            bar = ""
        count = f"{self.done:,}/{self.total:,}" if self.total else f"{self.done:,}"
        left = (f"<{_duration(elapsed * (1 - share) / share)}" if share else "")
        fields = "".join(f", {k}={v}" for k, v in self.fields.items())
        line = (f"{self.what}: {bar}{count} [{_duration(elapsed)}{left}, "
                f"{_rate(rate)} {self._units()}/s{fields}]")
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self.drawn = True


def _rate(rate: float) -> str:
    return f"{rate:.0f}" if rate >= 100 else f"{rate:.1f}" if rate >= 1 else f"{rate:.2f}"


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
