"""End to end on the tiny model: train -> run dir -> load -> predict/evaluate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lmforge
from lmforge.errors import ModelError, RunDirError
from tests.conftest import sentiment_rows, write_csv

FAST = dict(epochs=3, lr=2e-3, batch_size=16, max_length=32, show_progress=False)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    data = write_csv(tmp / "reviews.csv", sentiment_rows(300))
    result = lmforge.train(data=str(data), out=str(tmp / "run"), model=str(tiny_model_dir), **FAST)
    return result.run_dir


def test_run_dir_has_every_artifact(trained_run: Path) -> None:
    for name in ("model/config.json", "model/model.safetensors", "model/tokenizer.json",
                 "config.yaml", "metrics.json", "report.md", "confusion_matrix.png", "README.md",
                 "training_curves.png", "reliability.png", "mistakes.csv"):
        assert (trained_run / name).is_file(), name
    assert not (trained_run / "checkpoints").exists()
    assert not list(trained_run.parent.glob(".run.tmp-*"))


def test_metrics_json_shape_and_learning(trained_run: Path) -> None:
    metrics = json.loads((trained_run / "metrics.json").read_text())
    test = metrics["test"]
    for key in ("accuracy", "macro_f1", "loss", "per_class"):
        assert key in test
    assert set(test["per_class"]) == {"neg", "pos"}
    assert metrics["train"]["samples_per_second"] > 0 and metrics["train"]["seconds"] > 0
    assert metrics["data"]["splits"] == {"train": 210, "validation": 30, "test": 60}
    history = metrics["train"]["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    # every optimizer step's loss is recorded; an epoch's train_loss is its mean, not the
    # moving average of its last batches
    steps = metrics["train"]["step_losses"]
    assert len(steps) == metrics["train"]["steps"] == history[-1]["step"]
    first = steps[:history[0]["step"]]
    assert min(first) <= history[0]["train_loss"] <= max(first)
    assert abs(history[0]["train_loss"] - sum(first) / len(first)) < 0.05
    interval = test["accuracy_interval"]
    assert interval["method"] == "wilson" and interval["low"] <= test["accuracy"] <= interval["high"]
    assert 0 <= test["calibration"]["ece"] <= 1 and len(test["calibration"]["bins"]) == 10
    assert sum(b["n"] for b in test["calibration"]["bins"]) == test["n"]
    report = (trained_run / "report.md").read_text(encoding="utf-8")
    assert "Wilson score interval" in report and "Expected calibration error" in report
    assert "### Most confident mistakes (test)" in report
    # the synthetic task is easy: a model that learned anything gets most right
    assert test["accuracy"] >= 0.8


def test_model_loads_with_plain_transformers(trained_run: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(trained_run / "model"))
    tok = AutoTokenizer.from_pretrained(str(trained_run / "model"))
    assert model.config.id2label == {0: "neg", 1: "pos"}
    with torch.no_grad():
        logits = model(**tok(["great superb film"], return_tensors="pt")).logits
    clf = lmforge.load(trained_run)
    # --ensemble auto may have kept the TF-IDF baseline: plain transformers is the transformer part
    ours = getattr(clf, "transformer", clf).predict_proba(["great superb film"])
    assert torch.allclose(torch.softmax(logits, -1), torch.tensor(ours), atol=1e-5)


def test_load_predict_and_proba(trained_run: Path) -> None:
    clf = lmforge.load(trained_run)
    assert clf.classes_ == ["neg", "pos"]
    texts = ["the film was excellent wonderful", "the plot was awful boring"]
    assert clf.predict(texts) == ["pos", "neg"]
    proba = clf.predict_proba(texts)
    assert proba.shape == (2, 2) and abs(proba.sum(axis=1) - 1).max() < 1e-5


def test_evaluate_matches_training_report(trained_run: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "more.csv", sentiment_rows(40, seed=7))
    metrics = lmforge.evaluate(trained_run, data)
    assert metrics["n"] == 40 and 0 <= metrics["accuracy"] <= 1
    assert set(metrics) >= {"accuracy", "macro_f1", "loss", "per_class", "confusion_matrix"}


def test_predict_rows_keep_user_labels(trained_run: Path) -> None:
    rows = lmforge.predict(trained_run, ["excellent brilliant", "dull painful"])
    assert [r["label"] for r in rows] == ["pos", "neg"]
    assert set(rows[0]) == {"text", "label", "prob_neg", "prob_pos"}


def test_existing_run_dir_is_refused(trained_run: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(RunDirError, match="already exists. Choose another --out, or pass --overwrite"):
        lmforge.train(data="whatever.csv", out=str(trained_run), model=str(tiny_model_dir))


def test_missing_model_dir(tmp_path: Path, sentiment_csv: Path) -> None:
    with pytest.raises(ModelError, match="model directory '.*nope' does not exist"):
        lmforge.train(data=str(sentiment_csv), out=str(tmp_path / "r"), model=str(tmp_path / "nope"))


def test_dir_that_is_not_a_model(tmp_path: Path, sentiment_csv: Path, trained_run: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="is not a model directory: it has no config.json"):
        lmforge.train(data=str(sentiment_csv), out=str(tmp_path / "r"), model=str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="looks like a run directory: pass"):
        lmforge.train(data=str(sentiment_csv), out=str(tmp_path / "r"), model=str(trained_run))


def test_interrupt_leaves_no_run_dir(tmp_path: Path, sentiment_csv: Path, tiny_model_dir: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import lmforge.training.loop as loop

    real_save = loop.save_checkpoint

    def save_then_interrupt(state, path):  # type: ignore[no-untyped-def]
        real_save(state, path)  # something is on disk when Ctrl-C lands
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_checkpoint", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        lmforge.train(data=str(sentiment_csv), out=str(tmp_path / "run"),
                      model=str(tiny_model_dir), **FAST)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv"]


def test_multilabel_end_to_end(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = []
    for text, label in sentiment_rows(200):
        tags = [label] + (["long"] if len(text.split()) > 7 else [])
        rows.append((text, "|".join(tags)))
    data = write_csv(tmp_path / "tags.csv", rows)
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                           **FAST)
    assert result.config.task == "multi"
    test = result.metrics["test"]
    assert {"micro_f1", "macro_f1", "subset_accuracy"} <= set(test)
    clf = lmforge.load(result.run_dir)
    assert clf.classes_ == ["long", "neg", "pos"]
    assert all(isinstance(p, tuple) for p in clf.predict(["excellent", "awful"]))


def test_regression_end_to_end_outputs_real_scale(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [(text, str(90.0 if label == "pos" else 10.0)) for text, label in sentiment_rows(200)]
    rows = [(t, str(float(y) + (i % 7))) for i, (t, y) in enumerate(rows)]  # many distinct values
    data = write_csv(tmp_path / "scores.csv", rows, header=("text", "score"))
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                           task="regression", **{**FAST, "epochs": 8})
    test = result.metrics["test"]
    assert {"mse", "mae", "r2", "pearson"} <= set(test)
    assert test["r2"] > 0.5
    # the saved model predicts on the users' scale (mean/std folded into the head)
    values = lmforge.load(result.run_dir).predict(["excellent superb wonderful",
                                                   "awful dull terrible"])
    assert values[0] > 60 and values[1] < 40


def test_import_is_lazy() -> None:
    code = "import sys, lmforge; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_separate_test_file_and_leakage_reported(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = sentiment_rows(160)
    train = write_csv(tmp_path / "train.csv", rows[:120])
    # 20 texts also in train, and 5 that differ from train's only in case and punctuation
    near = [(text.upper() + "!!", label) for text, label in rows[:5]]
    test = write_csv(tmp_path / "test.csv", rows[100:160] + near)
    result = lmforge.train(data=str(train), test=str(test), out=str(tmp_path / "run"),
                           model=str(tiny_model_dir), **{**FAST, "epochs": 1})
    data = result.metrics["data"]
    # the 25 shared texts land in train or in the validation part carved out of it
    assert set(data["leakage"]) <= {"train/test", "validation/test"}
    assert sum(data["leakage"].values()) == 25 and data["leakage"]["train/test"] > 0
    assert data["splits"]["test"] == 65 and result.metrics["test"]["n"] == 65
    # the terminal's warnings, the same lines, at the top of report.md
    leaks = [w for w in data["warnings"] if w.startswith("leakage: ")]
    assert len(leaks) == len(data["leakage"])
    report = (result.run_dir / "report.md").read_text(encoding="utf-8")
    warnings = report.split("## Results")[0]
    assert "## Warnings" in warnings
    assert all(f"- {w}" in warnings for w in data["warnings"] + result.metrics["warnings"])
