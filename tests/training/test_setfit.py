"""SetFit: the auto rule, pairs, the LR head folded into a linear layer, and a SetFit run dir
that load/predict/evaluate use like any other."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import lmforge
from lmforge.errors import ConfigError, DataError
from lmforge.training.setfit import (
    AUTO_BELOW,
    build_setfit_model,
    choose_method,
    contrastive_pairs,
    fit_head,
)
from tests.conftest import sentiment_rows, write_csv


def test_auto_rule() -> None:
    few = ["a"] * 10 + ["b"] * 12  # 11 per class on average
    assert choose_method("auto", "single", few, 2)[0] == "setfit"
    assert f"under {AUTO_BELOW}" in choose_method("auto", "single", few, 2)[1]
    many = ["a"] * 16 + ["b"] * 16
    assert choose_method("auto", "single", many, 2)[0] == "finetune"
    assert choose_method("auto", "multi", few, 2)[0] == "finetune"
    assert choose_method("finetune", "single", few, 2) == ("finetune", "--method finetune")
    assert choose_method("setfit", "single", many, 2) == ("setfit", "--method setfit")
    with pytest.raises(ConfigError, match="method: setfit is for single-label classification; "
                       "this data's task is regression"):
        choose_method("setfit", "regression", [1.0, 2.0], 0)


def test_setfit_with_tfidf_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="method: setfit tunes a sentence encoder; --model tfidf"):
        lmforge.train(data="x.csv", out="o", model="tfidf", method="setfit")


def test_pairs() -> None:
    targets = ["a", "a", "a", "b", "b", "c"]
    pairs = contrastive_pairs(targets, 3, random.Random(0))
    positives = [p for p in pairs if p[2] == 1.0]
    negatives = [p for p in pairs if p[2] == 0.0]
    assert len(negatives) == 3 * 6 and len(positives) == 3 * 5  # 'c' has no partner
    assert all(targets[i] == targets[j] and i != j for i, j, _ in positives)
    assert all(targets[i] != targets[j] for i, j, _ in negatives)


def test_one_class_is_refused() -> None:
    with pytest.raises(DataError, match=r"setfit: the training split has only one class \('pos'\); "
                       "contrastive pairs need at least two"):
        contrastive_pairs(["pos", "pos"], 2, random.Random(0))


@pytest.mark.parametrize("labels", [["neg", "pos"], ["a", "b", "c"]])
def test_head_reproduces_logistic_regression(tiny_model_dir: Path, labels: list[str]) -> None:
    import torch
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 64)).astype(np.float32)
    targets = [labels[i % len(labels)] for i in range(30)]
    model = build_setfit_model(tiny_model_dir, labels)
    fit_head(model, x, targets, labels, seed=0, class_weight=None)
    expected = LogisticRegression(max_iter=2000, random_state=0).fit(
        x, [labels.index(t) for t in targets]).predict_proba(x)
    with torch.no_grad():
        ours = torch.softmax(model.head(torch.tensor(x)), -1).numpy()
    assert np.allclose(ours, expected, atol=1e-4)


@pytest.fixture(scope="module")
def setfit_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    tmp = tmp_path_factory.mktemp("setfit")
    rows = sentiment_rows(60)
    train = write_csv(tmp / "train.csv", rows[:20])  # 10 per class: auto picks setfit
    test = write_csv(tmp / "test.csv", rows[20:])
    result = lmforge.train(data=str(train), test=str(test), out=str(tmp / "run"),
                           model=str(tiny_model_dir), validation_fraction=0.0, max_length=32,
                           show_progress=False, setfit_iterations=5, log_to="csv")
    return result.run_dir


def test_setfit_run_is_written_and_reported(setfit_run: Path) -> None:
    metrics = json.loads((setfit_run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["data"]["method"]["method"] == "setfit"
    assert metrics["data"]["method"]["reason"].startswith("auto: 10.0 training examples per class")
    assert metrics["train"]["setfit"]["pairs"] == 5 * (20 + 20)
    assert metrics["test"]["n"] == 40 and "baseline" in metrics
    for name in ("model/setfit.json", "model/setfit_head.safetensors", "model/config.json",
                 "model/tokenizer.json", "report.md", "README.md", "metrics_history.csv"):
        assert (setfit_run / name).is_file(), name
    report = (setfit_run / "report.md").read_text(encoding="utf-8")
    assert "## Method" in report and "SetFit: 200 sentence pairs" in report
    assert "lmforge.load(" in (setfit_run / "README.md").read_text(encoding="utf-8")
    history = (setfit_run / "metrics_history.csv").read_text().splitlines()
    assert history[0] == "step,epoch,name,value"
    assert sum(1 for line in history if ",pair_loss," in line) == metrics["train"]["steps"]


def test_setfit_run_loads_predicts_and_evaluates(setfit_run: Path, tmp_path: Path) -> None:
    clf = lmforge.load(setfit_run)
    assert clf.classes_ == ["neg", "pos"] and clf.task == "single"
    probs = clf.predict_proba(["great superb film", "awful dull plot"])
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert set(clf.predict(["great superb film"])) <= {"neg", "pos"}
    test = write_csv(tmp_path / "more.csv", sentiment_rows(40, seed=5))
    metrics = lmforge.evaluate(setfit_run, test)
    assert metrics["n"] == 40 and 0.0 <= metrics["accuracy"] <= 1.0
    rows = lmforge.predict(setfit_run, ["great superb film"])
    assert rows[0]["label"] in {"neg", "pos"} and "prob_pos" in rows[0]
    # the saved head gives the same probabilities as the model that was scored at training time
    recorded = json.loads((setfit_run / "metrics.json").read_text())["test"]["accuracy"]
    again = lmforge.evaluate(setfit_run, setfit_run.parent / "test.csv")["accuracy"]
    assert again == pytest.approx(recorded)


def test_setfit_run_exports_to_onnx_and_explains(setfit_run: Path, tmp_path: Path) -> None:
    from lmforge.cli import main
    from lmforge.explain.attribute import explain

    assert main(["-q", "export", str(setfit_run), "--out", str(tmp_path / "onnx")]) == 0
    onnx = lmforge.load(tmp_path / "onnx")
    assert onnx.backend == "onnx" and onnx.classes_ == ["neg", "pos"]
    texts = ["great superb film", "awful dull plot"]
    assert np.allclose(onnx.predict_proba(texts), lmforge.load(setfit_run).predict_proba(texts),
                       atol=1e-4)
    (explanation,) = explain(setfit_run, ["great superb film"], steps=8, max_steps=16)
    assert explanation.words == ["great", "superb", "film"] and explanation.target in {"neg", "pos"}
    assert len(explanation.scores) == 3 and any(s != 0 for s in explanation.scores)


def test_setfit_without_validation_has_no_ensemble(setfit_run: Path) -> None:
    metrics = json.loads((setfit_run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["ensemble"]["off"].startswith("no validation split")
    assert not (setfit_run / "ensemble.json").exists()


def test_setfit_with_validation_goes_through_the_ensemble(tmp_path: Path,
                                                          tiny_model_dir: Path) -> None:
    rows = sentiment_rows(80)
    train = write_csv(tmp_path / "train.csv", rows[:20])
    validation = write_csv(tmp_path / "validation.csv", rows[20:40])
    test = write_csv(tmp_path / "test.csv", rows[40:])
    result = lmforge.train(data=str(train), validation=str(validation), test=str(test),
                           out=str(tmp_path / "run"), model=str(tiny_model_dir), max_length=32,
                           show_progress=False, setfit_iterations=2)
    ensemble = result.metrics["ensemble"]
    assert result.metrics["data"]["method"]["method"] == "setfit"
    assert ensemble["choice"] in ("blend", "transformer", "baseline")
    assert set(ensemble["validation"]) == {"transformer", "baseline", "blend"}
    assert (result.run_dir / "ensemble.json").exists() == (ensemble["choice"] != "transformer")
    clf = lmforge.load(result.run_dir)
    assert lmforge.evaluate(result.run_dir, test)["accuracy"] == pytest.approx(
        result.metrics["test"]["accuracy"])
    if ensemble["choice"] != "transformer":  # the SetFit model is the ensemble's transformer part
        assert clf.backend == "ensemble" and clf.transformer.model.__class__.__name__ == "SetFitModel"
