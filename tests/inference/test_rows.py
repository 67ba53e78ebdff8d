"""The one prediction-row format: rows, columns and the CSV / JSON-lines writers."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmforge.inference.rows import prediction_row, prediction_rows, row_columns, write_rows
from lmforge.inference.surface import PredictSurface


@dataclass
class FixedLogits(PredictSurface):
    """A backend whose logits are given: the surface alone."""

    task: str
    labels: list[str]
    table: Any
    run_dir: Path = Path("run")
    batch_size: int = 8
    settings: dict[str, Any] = field(default_factory=dict)

    def logits(self, texts: Sequence[str]) -> Any:
        return np.asarray(self.table[: len(texts)], dtype=np.float32)


def test_single_label_rows_hold_the_label_and_every_probability() -> None:
    clf = FixedLogits("single", ["neg", "pos"], [[0.0, 2.0], [3.0, 0.0]])
    rows = prediction_rows(clf, ["good", "bad"])
    assert [r["label"] for r in rows] == ["pos", "neg"]
    assert list(rows[0]) == ["text", "label", "prob_neg", "prob_pos"]
    assert abs(rows[0]["prob_pos"] - 1 / (1 + np.exp(-2.0))) < 1e-6
    assert all(isinstance(v, float) for r in rows for k, v in r.items() if k.startswith("prob_"))


def test_multi_label_rows_join_the_labels_and_regression_rows_hold_the_value() -> None:
    multi = FixedLogits("multi", ["a", "b", "c"], [[5.0, -5.0, 5.0], [-5.0, -5.0, -5.0]])
    assert [r["label"] for r in prediction_rows(multi, ["x", "y"])] == ["a|c", ""]
    reg = FixedLogits("regression", [], [[1.5], [-2.0]])
    assert prediction_rows(reg, ["x", "y"]) == [{"text": "x", "value": 1.5},
                                                {"text": "y", "value": -2.0}]
    assert prediction_rows(reg, []) == []


def test_a_remote_row_is_the_same_row() -> None:
    from lmforge.serve.client import _row

    local = prediction_row("t", "multi", ("a", "c"), {"a": 0.9, "b": 0.1, "c": 0.7})
    remote = _row("t", {"labels": ["a", "c"], "scores": {"c": 0.7, "a": 0.9, "b": 0.1}}, "multi",
                  ["a", "b", "c"])
    assert remote == local and list(remote) == list(local)


def test_csv_and_jsonl() -> None:
    rows = [prediction_row("t, quoted", "single", "pos", {"neg": 0.25, "pos": 0.75})]
    out = io.StringIO()
    write_rows(rows, out, "csv", row_columns("single", ["neg", "pos"]))
    assert out.getvalue() == 'text,label,prob_neg,prob_pos\n"t, quoted",pos,0.250000,0.750000\n'
    out = io.StringIO()
    write_rows(rows, out, "jsonl", row_columns("single", ["neg", "pos"]))
    assert json.loads(out.getvalue()) == rows[0]
    assert row_columns("regression", []) == ["text", "value"]
    assert row_columns("single", ["x"], prefix="score_") == ["text", "label", "score_x"]
