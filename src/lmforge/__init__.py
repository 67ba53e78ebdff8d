"""lmforge: from a CSV of labelled text to a trained, evaluated model.

Only the public API lives here, and it is lazy: ``import lmforge`` does not
import torch or transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lmforge.version import __version__

__all__ = ["train", "evaluate", "predict", "load", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.api import evaluate, load, predict, train


def __getattr__(name: str) -> Any:
    if name in {"train", "evaluate", "predict", "load"}:
        from lmforge import api

        return getattr(api, name)
    raise AttributeError(f"module 'lmforge' has no attribute {name!r}")
