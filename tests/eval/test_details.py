"""mistakes.csv and the reliability diagram written beside report.md."""

from __future__ import annotations

import csv
from pathlib import Path

from lmforge.eval.details import write_test_details
from lmforge.eval.diagnostics import calibration, confident_mistakes
from tests.eval.test_plots import assert_png


def test_mistakes_csv_and_reliability_png(tmp_path: Path) -> None:
    probs = [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]
    mistakes = confident_mistakes(probs, [1, 1, 1], ["neg", "pos"],
                                  ["bad, \"really\"\nbad", "fine", "meh"])
    metrics = {"test": {"n": 3, "calibration": calibration([0.8, 0.7, 0.6], [False, True, False])}}
    written = write_test_details(tmp_path, metrics, mistakes, file_rows=[12, 13, 14])
    assert written == {"mistakes": "mistakes.csv", "reliability": "reliability.png"}
    with (tmp_path / "mistakes.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["file_row"], r["true_label"], r["predicted_label"], r["confidence"]) for r in rows] \
        == [("12", "pos", "neg", "0.8000"), ("14", "pos", "neg", "0.6000")]
    assert rows[0]["text"] == "bad, \"really\"\nbad"  # the text as it was, quoted by csv
    assert_png(tmp_path / "reliability.png")
    assert write_test_details(tmp_path / "x", {"test": {"n": 3}}, None) == {}
