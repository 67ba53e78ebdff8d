"""What one table cell holds, whatever reader produced it.

CSV cells are ``str`` or NaN; JSONL cells may be ints, floats (ints with a
missing value next to them), bools or lists; Parquet cells numpy scalars,
numpy arrays (list columns) or ``pd.NA``.
"""

from __future__ import annotations

import math
from typing import Any

BINARY_TRUE = {"1", "1.0", "true"}
BINARY_FALSE = {"0", "0.0", "false"}


def plain(value: Any) -> Any:
    """numpy scalars and arrays as Python scalars and lists."""
    if hasattr(value, "tolist") and not isinstance(value, list | tuple | str):
        return value.tolist()
    return value


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in ("NAType", "NaTType")


def is_list(value: Any) -> bool:
    """A JSON array or a Parquet list cell (a numpy array)."""
    return isinstance(value, list | tuple) or getattr(value, "ndim", 0) > 0


def as_number(value: Any) -> float | None:
    """The finite float a cell holds, else None (bools and 'nan'/'inf' are not numbers)."""
    value = plain(value)
    if isinstance(value, bool) or is_list(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def label_string(value: Any) -> str:
    """A label as the user wrote it: 1 and 1.0 (a JSON int next to a missing value) are "1"."""
    value = plain(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def binary_value(value: Any) -> bool | None:
    """True/False for a 0/1 cell (also 1.0, true), None for anything else."""
    text = label_string(value).lower()
    if text in BINARY_TRUE:
        return True
    if text in BINARY_FALSE:
        return False
    return None


def shown(value: Any, limit: int = 60) -> str:
    """A cell quoted for an error message, cut when long."""
    text = repr(plain(value) if not isinstance(value, str) else value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
