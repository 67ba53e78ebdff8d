"""Ensemble runs (a transformer + its TF-IDF part): loading, predict/evaluate, export to ONNX,
compare, prune and distill."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

import lmforge
from lmforge.errors import ModelError
from tests.compress.conftest import FAST_BENCH
from tests.ensemble_parts import make_ensemble_run

TEXTS = ["the film was excellent wonderful", "the plot was awful boring", "ok",
         "a long one " * 60]
TUNE = {"epochs": 1, "batch_size": 16, "show_progress": False}


@pytest.fixture(scope="module")
def ensemble_run(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: tiny_run blended half and half with a TF-IDF part."""
    return make_ensemble_run(tiny_run, tmp_path_factory.mktemp("ensemble") / "run", weight=0.4)


def parts_of(run: Path) -> tuple[object, object]:
    from lmforge.inference.tfidf import TfidfClassifier
    from lmforge.models.tfidf import load_tfidf
    from lmforge.runs.load import load_model_part

    tfidf = load_tfidf(run / "baseline")
    return load_model_part(run), TfidfClassifier(run, tfidf, "single", tfidf.labels, 32, {})


def test_ensemble_run_predicts_the_blend_of_its_parts(ensemble_run: Path) -> None:
    from lmforge.inference.ensemble import EnsembleClassifier

    clf = lmforge.load(ensemble_run)
    assert isinstance(clf, EnsembleClassifier) and clf.backend == "ensemble"
    assert (clf.choice, clf.weight, clf.classes_) == ("blend", 0.4, ["neg", "pos"])
    assert (clf.max_length, clf.truncation, clf.batch_size) == (64, "head+tail", 32)
    assert clf.tokenizer is clf.transformer.tokenizer
    transformer, tfidf = parts_of(ensemble_run)
    expected = 0.4 * transformer.predict_proba(TEXTS) + 0.6 * tfidf.predict_proba(TEXTS)
    np.testing.assert_allclose(clf.predict_proba(TEXTS), expected, atol=1e-6)
    assert clf.predict(TEXTS) == [clf.labels[i] for i in expected.argmax(axis=1)]
    rows = lmforge.predict(ensemble_run, TEXTS[:2])
    assert rows[0]["prob_pos"] == pytest.approx(float(expected[0, 1]), abs=1e-6)
    scores = lmforge.evaluate(ensemble_run, clf.settings["test"])
    assert scores["n"] == 40 and 0.0 <= scores["accuracy"] <= 1.0
    clf.batch_size = 3  # measure() and export's parity check change it on the ensemble
    assert clf.transformer.batch_size == 3


def test_a_baseline_choice_predicts_with_the_tfidf_part_alone(tiny_run: Path,
                                                               tmp_path: Path) -> None:
    run = make_ensemble_run(tiny_run, tmp_path / "run", weight=0.0, choice="baseline")
    clf = lmforge.load(run)
    _, tfidf = parts_of(run)
    np.testing.assert_array_equal(clf.logits(TEXTS), tfidf.logits(TEXTS))


@pytest.mark.parametrize("task", ["multi", "regression"])
def test_multi_label_and_regression_ensembles_blend_probabilities_or_values(
        task: str, tmp_path: Path) -> None:
    from lmforge.inference.ensemble import outputs_of
    from tests.serve.conftest import make_run

    labels = ("long", "neg", "pos")
    plain = make_run(tmp_path / "plain", labels=labels, task=task, seed=2)
    run = make_ensemble_run(plain, tmp_path / "ens", weight=0.25, task=task)
    clf = lmforge.load(run)
    assert clf.backend == "ensemble" and clf.labels == ([] if task == "regression" else
                                                         list(labels))
    transformer, tfidf = lmforge.load(plain), clf.baseline
    if task == "multi":
        expected = 0.25 * transformer.predict_proba(TEXTS) + 0.75 * tfidf.predict_proba(TEXTS)
        np.testing.assert_allclose(clf.predict_proba(TEXTS), expected, atol=1e-6)
        np.testing.assert_allclose(outputs_of("multi", clf.logits(TEXTS)), expected, atol=1e-6)
        assert all(isinstance(p, tuple) for p in clf.predict(TEXTS))
    else:
        expected = 0.25 * np.array(transformer.predict(TEXTS)) + 0.75 * np.array(
            tfidf.predict(TEXTS))
        np.testing.assert_allclose(clf.predict(TEXTS), expected, rtol=1e-5)
        assert clf.predict(["excellent superb"])[0] > clf.predict(["awful dull"])[0]


def test_broken_ensemble_runs_say_what_to_do(tiny_run: Path, tmp_path: Path) -> None:
    import shutil

    run = make_ensemble_run(tiny_run, tmp_path / "run")
    meta = json.loads((run / "ensemble.json").read_text(encoding="utf-8"))
    (run / "ensemble.json").write_text(json.dumps({**meta, "labels": ["pos", "neg"]}))
    with pytest.raises(ModelError, match=r"says task single and labels \['pos', 'neg'\], but the "
                       r"transformer part \(model/\) has task single and labels \['neg', 'pos'\]"):
        lmforge.load(run)
    (run / "ensemble.json").write_text(json.dumps({**meta, "weight": 1.5}))
    with pytest.raises(ModelError, match=r"weight 1.5 is not a number in \[0, 1\]. Retrain"):
        lmforge.load(run)
    (run / "ensemble.json").write_text(json.dumps(meta))
    shutil.rmtree(run / "baseline")
    with pytest.raises(ModelError, match="holds ensemble.json but not its TF-IDF part"):
        lmforge.load(run)


@pytest.fixture(scope="module")
def exported(ensemble_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run

    out = tmp_path_factory.mktemp("ensemble-export") / "onnx"
    export_run(ExportConfig(run_dir=str(ensemble_run), out=str(out), **FAST_BENCH))
    return out


def test_export_onnx_keeps_the_tfidf_part_and_the_weight(ensemble_run: Path,
                                                         exported: Path) -> None:
    for name in ("model/model.onnx", "baseline/tfidf.json", "baseline/tfidf_weights.npz",
                 "ensemble.json", "report.md"):
        assert (exported / name).is_file(), name
    onnx = lmforge.load(exported)
    assert onnx.backend == "ensemble" and onnx.transformer.backend == "onnx"
    assert (onnx.choice, onnx.weight) == ("blend", 0.4)
    np.testing.assert_allclose(onnx.predict_proba(TEXTS),
                               lmforge.load(ensemble_run).predict_proba(TEXTS), atol=1e-4)
    metrics = json.loads((exported / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["export"]["ensemble"] == {"choice": "blend", "weight": 0.4}
    assert metrics["export"]["parity"]["fp32"]["max_abs_diff"] <= 1e-4
    backends = [r["backend"] for r in metrics["comparison"]["rows"]]
    assert backends == ["pytorch+tfidf", "onnx-fp32+tfidf"]
    report = (exported / "report.md").read_text(encoding="utf-8")
    assert "An ensemble run: its transformer part was exported" in report


def test_compare_gives_an_ensemble_run_its_own_row(tiny_run: Path, ensemble_run: Path,
                                                   exported: Path) -> None:
    from lmforge.compress.compare import compare_runs
    from lmforge.compress.measure import BenchSettings, model_dir_size_mb, tfidf_parameters

    rows = compare_runs([tiny_run, ensemble_run, exported], bench=BenchSettings(**FAST_BENCH))
    assert [r.backend for r in rows] == ["pytorch", "pytorch+tfidf", "onnx-fp32+tfidf"]
    plain, ensemble, onnx = rows
    tfidf = lmforge.load(ensemble_run).baseline.model
    assert ensemble.parameters == plain.parameters + tfidf_parameters(tfidf)
    assert onnx.parameters == ensemble.parameters  # the export recorded the network's count
    assert ensemble.size_mb == pytest.approx(
        plain.size_mb + model_dir_size_mb(ensemble_run / "baseline"))
    assert all(r.test_n == 40 for r in rows)


def test_prune_takes_the_transformer_part_and_says_so(ensemble_run: Path, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from lmforge.compress.config import PruneConfig
    from lmforge.compress.prune import prune_run
    from lmforge.inference.torch import Classifier

    with caplog.at_level(logging.WARNING, logger="lmforge"):
        result = prune_run(PruneConfig(run_dir=str(ensemble_run), out=str(tmp_path / "pruned"),
                                       layers=1, **TUNE, **FAST_BENCH))
    assert "is an ensemble run (it predicts with a blend, weight 0.40 on the transformer" in \
        caplog.text
    assert not (result.out / "ensemble.json").exists()
    assert not (result.out / "baseline").exists()
    assert isinstance(lmforge.load(result.out), Classifier)
    assert [r.backend for r in result.rows] == ["pytorch", "pytorch"]
    assert "its transformer part was pruned" in (result.out / "report.md").read_text("utf-8")


def test_distill_learns_what_the_ensemble_predicts(ensemble_run: Path, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from lmforge.compress.config import DistillConfig
    from lmforge.compress.distill import distill_run
    from tests.conftest import sentiment_rows, write_csv

    data = write_csv(tmp_path / "pool.csv", sentiment_rows(48, seed=5))
    with caplog.at_level(logging.INFO, logger="lmforge"):
        result = distill_run(DistillConfig(teacher=str(ensemble_run), student="layers:1",
                                           data=str(data), out=str(tmp_path / "student"),
                                           **TUNE, **FAST_BENCH))
    assert "is an ensemble run: the student learns what it predicts" in caplog.text
    assert [r.backend for r in result.rows] == ["pytorch+tfidf", "pytorch"]
    assert not (result.out / "ensemble.json").exists()
    student = lmforge.load(result.out)
    assert student.model.config.num_hidden_layers == 1
