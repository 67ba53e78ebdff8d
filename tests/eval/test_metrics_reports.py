from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.eval.metrics import classification_metrics, multilabel_metrics, regression_metrics
from lmforge.eval.plots import save_confusion_matrix_png, save_curves_png
from lmforge.eval.report import format_report, render_model_card, render_report_md


def test_classification_metrics_by_hand() -> None:
    # true: a a b b c c ; pred: a b b b c a
    m = classification_metrics([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], ["a", "b", "c"], loss=0.5)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # a: p 1/2 r 1/2 f 1/2; b: p 2/3 r 1 f 0.8; c: p 1 r 1/2 f 2/3
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m["per_class"]["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0,
                                   "f1": pytest.approx(0.8), "support": 2}
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["loss"] == 0.5 and m["n"] == 6


def test_absent_class_still_reported() -> None:
    m = classification_metrics([0, 0], [0, 0], ["a", "b"])
    assert m["per_class"]["b"]["support"] == 0 and m["per_class"]["b"]["f1"] == 0.0
    assert m["confusion_matrix"] == [[2, 0], [0, 0]]


def test_multilabel_by_hand() -> None:
    m = multilabel_metrics([[1, 0], [1, 1]], [[1, 0], [0, 1]], ["x", "y"])
    assert m["subset_accuracy"] == 0.5 and m["hamming_loss"] == 0.25
    assert m["micro_f1"] == pytest.approx(0.8)  # tp 2, fp 0, fn 1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1) / 2)


def test_regression_by_hand_and_constant_prediction() -> None:
    m = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    assert m["mse"] == pytest.approx(1 / 3) and m["mae"] == pytest.approx(1 / 3)
    assert m["r2"] == pytest.approx(1 - (1 / 3) / (2 / 3))
    assert regression_metrics([1.0, 2.0], [5.0, 5.0])["pearson"] is None


def test_pngs_are_written_and_scale(tmp_path: Path) -> None:
    small, big = tmp_path / "small.png", tmp_path / "big.png"
    save_confusion_matrix_png([[3, 1], [0, 4]], ["neg", "pos"], small)
    labels = [f"comp.sys.category.{i}" for i in range(20)]
    save_confusion_matrix_png([[i * j % 7 for j in range(20)] for i in range(20)], labels, big)
    for path in (small, big):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    from PIL import Image

    assert Image.open(big).size[0] > Image.open(small).size[0]
    save_curves_png([{"epoch": 1, "train_loss": 0.6, "validation_macro_f1": 0.7},
                     {"epoch": 2, "train_loss": 0.4, "validation_macro_f1": 0.8}],
                    tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_reports_show_the_numbers() -> None:
    m = classification_metrics([0, 1, 1], [0, 1, 0], ["neg", "pos"], loss=0.4321)
    text = format_report(m, "single")
    assert "accuracy        0.6667" in text and "loss            0.4321" in text
    assert "pos" in text and "confusion matrix" in text
    md = render_report_md({"test": m, "train": {"seconds": 1.5}}, "single",
                          data_summary={"splits": {"train": 10, "test": 3},
                                        "mostly_unknown_tokens": {"texts": 4, "threshold": 0.5,
                                                                  "share_of_tokens": 0.6}},
                          train_summary={"seconds": 1.5, "history": []})
    assert "| test | 3 | 0.6667 |" in md and "mostly unknown tokens" in md
    card = render_model_card(model_name="r", base_model="b", task="single", labels=["neg", "pos"],
                             metrics={"test": m}, config={"max_length": 64}, usage_dir="runs/r")
    assert card.startswith("---\nlibrary_name: transformers")
    assert 'AutoModelForSequenceClassification.from_pretrained("runs/r/model")' in card
