"""Accuracy interval, calibration, the one-class warning and the confident mistakes."""

from __future__ import annotations

import pytest

from lmforge.eval.diagnostics import (
    accuracy_interval,
    calibration,
    confident_mistakes,
    model_warnings,
    one_class_warning,
    top_per_pair,
)


def test_wilson_interval_matches_the_textbook_values() -> None:
    ci = accuracy_interval(8, 10)  # Brown, Cai & DasGupta's Wilson interval for 8 of 10
    assert ci["method"] == "wilson" and ci["level"] == 0.95
    assert ci["low"] == pytest.approx(0.4902, abs=1e-4) and ci["high"] == pytest.approx(0.9433, abs=1e-4)
    perfect = accuracy_interval(50, 50)  # never the degenerate [1, 1] of the normal approximation
    assert perfect["high"] == 1.0 and 0.92 < perfect["low"] < 0.94
    assert accuracy_interval(30, 30)["high"] == 1.0 and accuracy_interval(0, 30)["low"] == 0.0
    assert accuracy_interval(900, 1000)["high"] - accuracy_interval(900, 1000)["low"] < \
        accuracy_interval(90, 100)["high"] - accuracy_interval(90, 100)["low"]
    with pytest.raises(ValueError, match="n must be positive"):
        accuracy_interval(0, 0)


def test_calibration_bins_and_ece() -> None:
    cal = calibration([0.95, 0.95, 0.55, 0.55, 1.0], [True, False, True, True, True])
    assert len(cal["bins"]) == 10
    top, middle = cal["bins"][9], cal["bins"][5]
    assert (top["n"], middle["n"]) == (3, 2)
    assert top["accuracy"] == pytest.approx(2 / 3) and top["confidence"] == pytest.approx(2.9 / 3)
    assert middle["accuracy"] == 1.0 and middle["confidence"] == pytest.approx(0.55)
    assert cal["bins"][0]["n"] == 0 and cal["bins"][0]["accuracy"] is None
    expected = 3 / 5 * abs(2 / 3 - 2.9 / 3) + 2 / 5 * 0.45
    assert cal["ece"] == pytest.approx(expected)
    assert calibration([0.9] * 10, [True] * 9 + [False])["ece"] == pytest.approx(0.0)


def split(matrix: list[list[int]], labels: tuple[str, ...] = ("a", "b", "c")) -> dict:
    return {"confusion_matrix": matrix, "labels": list(labels)}


def test_one_class_warning_fires_only_on_a_collapsed_model() -> None:
    collapsed = split([[30, 0, 0], [28, 2, 0], [30, 0, 0]])  # 'a' for 88 of 90
    warning = one_class_warning(collapsed)
    assert warning is not None and warning.startswith(
        "the model predicts 'a' for 88 of 90 test texts (98%; its true share is 33%)")
    assert model_warnings({"test": collapsed}) == [warning]
    assert one_class_warning(split([[25, 3, 2], [4, 24, 2], [1, 2, 27]])) is None
    # a test split that really is almost all one class is no collapse
    assert one_class_warning(split([[95, 0], [4, 1]], ("a", "b"))) is None
    assert model_warnings({"test": {"n": 3}}) == []  # regression: no matrix


def test_mistakes_most_confident_first_per_class_pair() -> None:
    probs = [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.05, 0.9, 0.05],
             [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]]
    y = [0, 0, 0, 0, 1, 2]
    texts = ["t0", "t1", "t2", "t3", "t4", "t5"]
    rows = confident_mistakes(probs, y, ["a", "b", "c"], texts)
    assert [(r["text"], r["true"], r["predicted"]) for r in rows] == [
        ("t3", "a", "b"), ("t1", "a", "b"), ("t2", "a", "b"),  # 3 a->b mistakes, sure first
        ("t4", "b", "c")]  # t5 is right
    assert rows[0]["confidence"] == pytest.approx(0.9) and rows[0]["true_probability"] == 0.05
    assert [r["text"] for r in top_per_pair(rows, per_pair=2)] == ["t3", "t1", "t4"]
