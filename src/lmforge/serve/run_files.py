"""What the server shows of a run beside its predictions: an example input (the page's
placeholder), and the run's report and model card.

The example is a short text like the ones the model was trained on, so the page never
suggests a film review to a news model: the model card's widget text when it has one
(Hugging Face's ``widget: - text: ...``), else the first short text of the training data
named in config.yaml, when that file is still where it was and small enough to read at
start-up. Neither found: no example, and the page says what the model does instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.rundir import CARD_FILE, REPORT_FILE

log = logging.getLogger(__name__)

EXAMPLE_CHARS = (20, 200)  # a sentence or two: long enough to mean something, short to read
EXAMPLE_ROWS = 1000  # rows looked at for a short one
EXAMPLE_SOURCE_MAX_BYTES = 20_000_000  # larger training files are not read just for this
RUN_FILES = {"report": REPORT_FILE, "card": CARD_FILE}


def run_file(run_dir: Path, kind: str) -> Path | None:
    """The run's report (``kind`` "report": report.md) or model card ("card": README.md),
    None when the run has none."""
    path = run_dir / RUN_FILES[kind]
    return path if path.is_file() else None


def example_input(run_dir: Path, settings: dict[str, Any],
                  inputs: Sequence[str]) -> dict[str, str] | None:
    """A short example of each of the model's ``inputs`` (names as GET /v1/models lists
    them), or None. Never raises: a missing or unreadable source only means no example."""
    if settings.get("task") == "tokens":
        return None  # token runs train on CoNLL files: no table of texts to pick from
    try:
        if len(inputs) == 1:
            text = _card_example(run_dir)
            if text:
                return {inputs[0]: text}
        return _data_example(settings, inputs)
    except Exception as exc:  # a placeholder is not worth failing or warning for
        log.debug("no example text for %s: %s: %s", run_dir, type(exc).__name__, exc)
        return None


def _card_example(run_dir: Path) -> str | None:
    import yaml

    path = run_dir / CARD_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return None
    front = yaml.safe_load(text.split("---", 2)[1]) or {}
    for item in front.get("widget") or []:
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            return _shortened(item["text"].strip())
    return None


def _data_example(settings: dict[str, Any], inputs: Sequence[str]) -> dict[str, str] | None:
    from lmforge.data.cells import is_missing, plain
    from lmforge.data.clean import clean_text
    from lmforge.data.read import read_table

    source = settings.get("data")
    if not source:
        return None
    path = Path(str(source))
    if not path.is_file() or path.stat().st_size > EXAMPLE_SOURCE_MAX_BYTES:
        return None
    df = read_table(path)
    if not all(name in df.columns for name in inputs):
        return None
    rows = []
    for values in df[list(inputs)].head(EXAMPLE_ROWS).itertuples(index=False):
        cells = ["" if is_missing(v) else clean_text(str(plain(v))) for v in values]
        if all(cells):
            rows.append(cells)
    if not rows:
        return None
    low, high = EXAMPLE_CHARS
    short = next((cells for cells in rows if low <= sum(map(len, cells)) <= high), None)
    chosen = short or min(rows, key=lambda cells: sum(map(len, cells)))
    return {name: _shortened(cell) for name, cell in zip(inputs, chosen, strict=True)}


def _shortened(text: str, limit: int = EXAMPLE_CHARS[1]) -> str:
    """``text`` on one line, cut at a word boundary before ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "…"
