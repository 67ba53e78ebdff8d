"""The test split's details beside report.md: ``mistakes.csv`` (every misclassified test
text, most confident first per class pair) and ``reliability.png`` (the reliability
diagram with its expected calibration error). Single-label runs only."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MISTAKES_CSV = "mistakes.csv"
RELIABILITY_PNG = "reliability.png"
MISTAKE_COLUMNS = ("file_row", "true_label", "predicted_label", "confidence",
                   "true_label_probability", "text")


def mistakes_csv(mistakes: Sequence[dict[str, Any]], file_rows: Sequence[int] = ()) -> str:
    """CSV text of ``eval.diagnostics.confident_mistakes`` rows; ``file_rows``: the file row
    of each test example (empty: the position in the test split, from 1)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MISTAKE_COLUMNS)
    for m in mistakes:
        row = file_rows[m["row"]] if file_rows else m["row"] + 1
        writer.writerow([row, m["true"], m["predicted"], f"{m['confidence']:.4f}",
                         f"{m['true_probability']:.4f}", m["text"]])
    return buffer.getvalue()


def write_test_details(run_dir: Path, metrics: dict[str, Any],
                       mistakes: Sequence[dict[str, Any]] | None,
                       file_rows: Sequence[int] = ()) -> dict[str, str]:
    """Write what the test split allows; returns ``{"mistakes": name, "reliability": name}``
    for the files written (report.md links them)."""
    from lmforge.eval.plots import save_reliability_png
    from lmforge.rundir import write_text_atomic

    written: dict[str, str] = {}
    test = metrics.get("test") or {}
    if mistakes is not None:
        write_text_atomic(run_dir / MISTAKES_CSV, mistakes_csv(mistakes, file_rows))
        written["mistakes"] = MISTAKES_CSV
    if test.get("calibration"):
        save_reliability_png(test["calibration"], run_dir / RELIABILITY_PNG,
                             title=f"Reliability (test, n={test.get('n')})")
        written["reliability"] = RELIABILITY_PNG
    return written
