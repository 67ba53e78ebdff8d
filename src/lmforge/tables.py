"""The one table style of the terminal (README, "Conventions"): a header, a rule of dashes,
columns two spaces apart, numbers right-aligned and text left-aligned. Every command that
prints a table uses ``format_table``; name/value lists (metrics) use ``format_pairs``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?%?$|^-$|^n/a$", re.IGNORECASE)


def cell(value: Any, digits: int = 4) -> str:
    """A value as table text: floats with ``digits`` decimals, None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]], indent: int = 0) -> str:
    """``header`` and ``rows`` as aligned text (cells through ``cell``)."""
    body = [[cell(x) for x in row] for row in rows]
    head = [str(h) for h in header]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    numeric = [bool(body) and all(_NUMBER.match(row[i]) for row in body)
               for i in range(len(head))]

    def line(row: Sequence[str]) -> str:
        parts = [x.rjust(w) if num else x.ljust(w)
                 for x, w, num in zip(row, widths, numeric, strict=True)]
        return (" " * indent + "  ".join(parts)).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(r) for r in body)])


def format_pairs(values: Mapping[str, Any], digits: int = 4, indent: int = 0) -> str:
    """``name  value`` lines (a metrics dict), the names padded to one width, every float
    with the same ``digits`` decimals."""
    width = max((len(k) for k in values), default=0)
    return "\n".join(" " * indent + f"{k:<{width}}  {cell(v, digits)}".rstrip()
                     for k, v in values.items())
