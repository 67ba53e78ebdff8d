"""Metrics checked against values worked out by hand on tiny inputs."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from lmforge.eval.metrics import (
    classification_metrics,
    compute_metrics,
    multilabel_metrics,
    regression_metrics,
)

# 3 classes, 6 examples:
#   a: TP 2, FP 0, FN 1 -> P 1,   R 2/3, F1 4/5
#   b: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2
#   c: TP 1, FP 1, FN 0 -> P 1/2, R 1,   F1 2/3
Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 1, 2, 2]
LABELS = ["a", "b", "c"]


def _plain(value: object) -> bool:
    """Only JSON's own types all the way down (no numpy scalars)."""
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (int, float, str, bool)


@pytest.fixture(autouse=True)
def _no_warnings():
    # zero_division=0 and the constant-input checks must keep sklearn/numpy quiet
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_classification_hand_computed():
    m = classification_metrics(Y_TRUE, Y_PRED, LABELS, loss=0.25)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)  # 59/90
    assert m["weighted_f1"] == pytest.approx((3 * 4 / 5 + 2 * 1 / 2 + 1 * 2 / 3) / 6)  # 61/90
    assert m["macro_precision"] == pytest.approx((1 + 1 / 2 + 1 / 2) / 3)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert m["loss"] == 0.25
    assert m["labels"] == LABELS
    assert m["per_class"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["c"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    # rows: true label, columns: predicted
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert list(m) == ["n", "accuracy", "macro_f1", "weighted_f1", "macro_precision",
                       "macro_recall", "loss", "labels", "per_class", "confusion_matrix"]


def test_classification_absent_classes_still_reported():
    # "c" is predicted once but never true; "d" never occurs at all
    m = classification_metrics([0, 1, 0, 1], [0, 1, 2, 1], ["a", "b", "c", "d"])
    assert list(m["per_class"]) == ["a", "b", "c", "d"]
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # a: P 1, R 1/2, F1 2/3; b: F1 1; c, d: 0 -> macro over all four labels
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 + 0 + 0) / 4)
    assert m["confusion_matrix"] == [[1, 0, 1, 0], [0, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]


def test_classification_outputs_plain_python_from_numpy_inputs():
    m = classification_metrics(np.array(Y_TRUE), np.array(Y_PRED), LABELS, loss=np.float32(0.5))
    assert _plain(m)
    assert type(m["loss"]) is float and type(m["n"]) is int
    assert json.loads(json.dumps(m)) == m
    assert classification_metrics(Y_TRUE, Y_PRED, LABELS)["loss"] is None


def test_classification_perfect_and_all_wrong():
    assert classification_metrics([0, 1], [0, 1], ["x", "y"])["macro_f1"] == 1.0
    wrong = classification_metrics([0, 1], [1, 0], ["x", "y"])
    assert wrong["accuracy"] == 0.0 and wrong["macro_f1"] == 0.0


@pytest.mark.parametrize(("y_true", "y_pred", "message"), [
    ([0, 1], [0], "y_true has 2 rows but y_pred has 1"),
    ([], [], "no examples to score"),
    ([0, 3], [0, 1], r"class ids \[3\] are not in 0..2 \(3 labels\)"),
    ([0, 1], [-1, 1], r"class ids \[-1\]"),
])
def test_classification_bad_input(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(y_true, y_pred, LABELS)


# 3 labels, 3 rows:
#   x: true [1,0,1], pred [1,0,1] -> P 1, R 1,   F1 1,   support 2
#   y: true [0,1,1], pred [0,1,0] -> P 1, R 1/2, F1 2/3, support 2
#   z: true [1,0,0], pred [0,0,1] -> 0,           support 1
#   micro: TP 3, FP 1, FN 2 -> F1 6/9
ML_TRUE = [[1, 0, 1], [0, 1, 0], [1, 1, 0]]
ML_PRED = [[1, 0, 0], [0, 1, 0], [1, 0, 1]]


def test_multilabel_hand_computed():
    m = multilabel_metrics(ML_TRUE, ML_PRED, ["x", "y", "z"], loss=0.4)
    assert m["n"] == 3
    assert m["micro_f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert m["subset_accuracy"] == pytest.approx(1 / 3)  # only the middle row is all right
    assert m["hamming_loss"] == pytest.approx(3 / 9)  # 3 wrong cells of 9
    assert m["loss"] == 0.4
    assert m["labels"] == ["x", "y", "z"]
    assert m["per_class"]["y"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert m["per_class"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert _plain(m)
    assert list(m) == ["n", "micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "loss",
                       "labels", "per_class"]


def test_multilabel_numpy_input_and_unused_label():
    t = np.array([[1, 0], [1, 0]])
    m = multilabel_metrics(t, t.copy(), ["on", "never"])
    assert m["subset_accuracy"] == 1.0 and m["hamming_loss"] == 0.0
    assert m["per_class"]["never"]["support"] == 0
    assert _plain(m)


def test_multilabel_wrong_width():
    with pytest.raises(ValueError, match=r"y_pred must be n x 3 \(one column per label\), "
                                         r"got shape \(3, 2\)"):
        multilabel_metrics(ML_TRUE, [[1, 0], [0, 1], [1, 0]], ["x", "y", "z"])


def test_regression_hand_computed():
    # errors 0, -1, 1, 0; gold mean 2.5, sum of squares around it 5
    m = regression_metrics([1, 2, 3, 4], [1, 3, 2, 4], loss=0.1)
    assert m["n"] == 4
    assert m["mse"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx(math.sqrt(0.5))
    assert m["mae"] == pytest.approx(0.5)
    assert m["r2"] == pytest.approx(1 - 2 / 5)
    assert m["pearson"] == pytest.approx(4 / 5)  # covariance 4 over sqrt(5 * 5)
    assert m["loss"] == 0.1
    assert _plain(m)
    assert list(m) == ["n", "mse", "rmse", "mae", "r2", "pearson", "loss"]


def test_regression_constant_prediction_has_no_pearson():
    # np.std([0.1] * 3) is 1e-17, not 0: the check must be exact, not "std > 0"
    m = regression_metrics([1.0, 2.0, 3.0], [0.1, 0.1, 0.1])
    assert m["pearson"] is None
    assert m["r2"] is not None and m["r2"] < 0
    assert json.loads(json.dumps(m)) == m


def test_regression_constant_gold_and_single_example():
    m = regression_metrics([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert m["r2"] is None and m["pearson"] is None
    assert m["mse"] == pytest.approx(2 / 3)
    one = regression_metrics([1.0], [1.5])
    assert one["pearson"] is None and one["r2"] is None and one["mae"] == 0.5


def test_compute_metrics_dispatch():
    assert compute_metrics("single", Y_TRUE, Y_PRED, LABELS) == classification_metrics(
        Y_TRUE, Y_PRED, LABELS)
    assert compute_metrics("multi", ML_TRUE, ML_PRED, ["x", "y", "z"])["micro_f1"] == (
        pytest.approx(2 / 3))
    assert compute_metrics("regression", [1, 2], [1, 2])["mse"] == 0.0
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        compute_metrics("ranking", [1], [1])
    with pytest.raises(ValueError, match="task 'single' needs the label names"):
        compute_metrics("single", [0], [0])
