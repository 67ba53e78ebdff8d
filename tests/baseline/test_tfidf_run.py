"""`--model tfidf` runs end to end (train -> predict -> evaluate -> load -> serve), and the
baseline inside a tiny-model `train`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lmforge
from lmforge.cli import main
from tests.conftest import sentiment_rows, write_csv

FAST = dict(epochs=3, lr=2e-3, batch_size=16, max_length=32, show_progress=False)


@pytest.fixture(scope="module")
def tfidf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("tfidf")
    data = write_csv(tmp / "reviews.csv", sentiment_rows(300))
    assert main(["-q", "train", "--model", "tfidf", "--data", str(data),
                 "--out", str(tmp / "run")]) == 0
    return tmp / "run"


def test_run_dir_layout_and_no_pickle(tfidf_run: Path) -> None:
    for name in ("model/tfidf.json", "model/tfidf_weights.npz", "config.yaml", "metrics.json",
                 "report.md", "confusion_matrix.png", "README.md"):
        assert (tfidf_run / name).is_file(), name
    assert not [p for p in tfidf_run.rglob("*") if p.suffix in (".pkl", ".joblib", ".pickle")]
    metrics = json.loads((tfidf_run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["data"]["splits"] == {"train": 210, "validation": 30, "test": 60}
    assert metrics["test"]["n"] == 60 and metrics["test"]["accuracy"] >= 0.9
    assert metrics["train"]["features"]["analyzer"] == "word"
    assert metrics["train"]["seconds"] > 0 and "baseline" not in metrics
    card = (tfidf_run / "README.md").read_text(encoding="utf-8")
    assert "library_name: lmforge" in card and "AutoModelForSequenceClassification" not in card
    assert "tfidf_weights.npz" in card
    assert "TF-IDF + logistic regression" in (tfidf_run / "report.md").read_text(encoding="utf-8")


def test_predict_cli_csv_columns(tfidf_run: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "texts.txt"
    data.write_text("excellent superb film\nawful boring plot\n", encoding="utf-8")
    assert main(["-q", "predict", str(tfidf_run), "--data", str(data)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["text", "predicted_label", "prob_neg", "prob_pos"]
    assert [r["predicted_label"] for r in rows] == ["pos", "neg"]
    assert abs(float(rows[0]["prob_neg"]) + float(rows[0]["prob_pos"]) - 1) < 1e-4


def test_evaluate_cli(tfidf_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "more.csv", sentiment_rows(40, seed=7))
    assert main(["-q", "evaluate", str(tfidf_run), "--data", str(data),
                 "--json", str(tmp_path / "m.json")]) == 0
    saved = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert saved["n"] == 40 and saved["accuracy"] >= 0.9
    table = capsys.readouterr().out
    assert f"{saved['accuracy']:.4f}" in table
    # the one table style: a header, a rule of dashes, numbers right-aligned
    header = next(i for i, line in enumerate(table.splitlines()) if line.split()[:1] == ["class"])
    rule, first = table.splitlines()[header + 1], table.splitlines()[header + 2]
    assert set(rule.split()) == {"-" * len(w) for w in rule.split()} and len(rule.split()) == 5
    assert len(first) == len(rule)  # support right-aligned under its rule
    assert main(["-q", "evaluate", str(tfidf_run), "--data", str(data), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == saved["accuracy"]


def test_load_has_the_classifier_surface(tfidf_run: Path) -> None:
    from lmforge.inference.surface import logits_to_outputs

    clf = lmforge.load(tfidf_run)
    assert clf.backend == "tfidf" and clf.task == "single"
    assert clf.labels == clf.classes_ == ["neg", "pos"]
    assert clf.settings["model"] == "tfidf"
    texts = ["the film was excellent wonderful", "the plot was awful boring"]
    assert clf.predict(texts) == ["pos", "neg"]
    proba = clf.predict_proba(texts)
    np.testing.assert_allclose(proba, logits_to_outputs("single", clf.logits(texts)))
    assert proba.shape == (2, 2) and np.allclose(proba.sum(axis=1), 1)
    assert clf.decode(proba) == ["pos", "neg"]
    # cleaned like training text: HTML and spacing do not change the answer
    np.testing.assert_allclose(clf.logits(["<b>excellent</b>   superb"]),
                               clf.logits(["excellent superb"]))
    with pytest.raises(lmforge.errors.DataError, match="pass a list of texts, not a single string"):
        clf.predict("excellent")


def test_served_through_the_app(tfidf_run: Path) -> None:
    from lmforge.serve.app import create_app
    from tests.serve.conftest import serve_app

    client = serve_app(create_app([tfidf_run]))
    try:
        texts = ["excellent superb film", "awful dull plot"]
        r = client.post("/v1/predict", json={"texts": texts})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [p["label"] for p in body["predictions"]] == ["pos", "neg"]
        expected = lmforge.load(tfidf_run).predict_proba(texts)
        for p, row in zip(body["predictions"], expected, strict=True):
            np.testing.assert_allclose([p["scores"]["neg"], p["scores"]["pos"]], row, atol=1e-6)
        info = client.get("/v1/models").json()["models"][0]
        assert info["labels"] == ["neg", "pos"] and info["max_length"] is None
    finally:
        client.__exit__(None, None, None)


def test_config_yaml_reproduces_the_tfidf_run(tfidf_run: Path, tmp_path: Path) -> None:
    assert main(["-q", "train", "--config", str(tfidf_run / "config.yaml"),
                 "--out", str(tmp_path / "again")]) == 0
    first = json.loads((tfidf_run / "metrics.json").read_text(encoding="utf-8"))["test"]
    second = json.loads((tmp_path / "again" / "metrics.json").read_text(encoding="utf-8"))["test"]
    assert second["accuracy"] == first["accuracy"]
    assert second["loss"] == pytest.approx(first["loss"], rel=1e-6)


def test_chinese_run_uses_character_ngrams(tmp_path: Path) -> None:
    good = ["房间干净，服务周到", "早餐丰富，位置方便", "环境安静，性价比高", "前台热情，入住很快"]
    bad = ["隔音很差，不推荐", "床单有污渍，很脏", "态度恶劣，等了很久", "卫生间漏水，太吵"]
    rows = [(f"{good[i % 4]}{i}号", "pos") if i % 2 == 0 else (f"{bad[i % 4]}{i}号", "neg")
            for i in range(80)]
    data = write_csv(tmp_path / "zh.csv", rows)
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model="tfidf")
    features = result.metrics["train"]["features"]
    assert (features["analyzer"], features["ngram_range"]) == ("char", [1, 3])
    assert "Chinese" in features["reason"]
    assert lmforge.load(result.run_dir).predict(["服务周到，房间干净", "隔音很差，很脏"]) == ["pos", "neg"]


def test_multilabel_and_regression_tfidf_runs(tmp_path: Path) -> None:
    rows = [(t, "|".join([y] + (["long"] if len(t.split()) > 7 else [])))
            for t, y in sentiment_rows(160)]
    multi = lmforge.train(data=str(write_csv(tmp_path / "tags.csv", rows)),
                          out=str(tmp_path / "multi"), model="tfidf")
    assert multi.config.task == "multi" and multi.metrics["test"]["micro_f1"] > 0.6
    assert all(isinstance(p, tuple) for p in lmforge.load(multi.run_dir).predict(["excellent"]))
    scores = [(t, str(90.0 + i % 5 if y == "pos" else 10.0 + i % 5))
              for i, (t, y) in enumerate(sentiment_rows(160))]
    reg = lmforge.train(data=str(write_csv(tmp_path / "s.csv", scores, ("text", "score"))),
                        out=str(tmp_path / "reg"), model="tfidf", task="regression")
    assert reg.metrics["test"]["r2"] > 0.5 and "mse" in reg.metrics["test"]
    values = lmforge.load(reg.run_dir).predict(["excellent superb", "awful dull"])
    assert values[0] > 50 > values[1]


def test_imbalanced_data_warns_before_training(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    rows = sentiment_rows(200)
    rows = [r for r in rows if r[1] == "pos"] + [r for r in rows if r[1] == "neg"][:20]
    data = write_csv(tmp_path / "skewed.csv", rows)
    with caplog.at_level("WARNING", logger="lmforge"):
        result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model="tfidf")
    warnings = result.metrics["data"]["warnings"]
    assert any("class imbalance: 'pos' has" in w and "the loss weighs classes" in w
               for w in warnings)
    assert any("class imbalance" in r.getMessage() for r in caplog.records)
    assert result.metrics["data"]["class_counts"]["neg"] < result.metrics["data"]["class_counts"]["pos"]
    assert result.metrics["train"]["features"]["class_weight"] == "balanced"


# ------------------------------------------------------------------ baseline inside train


@pytest.fixture(scope="module")
def trained_with_baseline(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Any:
    tmp = tmp_path_factory.mktemp("with-baseline")
    data = write_csv(tmp / "reviews.csv", sentiment_rows(300))
    return lmforge.train(data=str(data), out=str(tmp / "run"), model=str(tiny_model_dir), **FAST)


def test_baseline_numbers_in_metrics_json(trained_with_baseline: Any) -> None:
    metrics = json.loads((trained_with_baseline.run_dir / "metrics.json").read_text("utf-8"))
    baseline = metrics["baseline"]
    assert baseline["model"] == "TF-IDF + logistic regression"
    assert baseline["test"]["n"] == metrics["test"]["n"] == 60  # the same test examples
    assert baseline["validation"]["n"] == metrics["validation"]["n"]
    assert 0.9 <= baseline["test"]["accuracy"] <= 1 and 0.9 <= baseline["test"]["macro_f1"] <= 1
    assert 0 < baseline["seconds"] < metrics["train"]["seconds"]
    assert baseline["features"]["n_features"] > 20 and baseline["features"]["analyzer"] == "word"
    verdict = baseline["verdict"]
    assert verdict["metric"] == "accuracy" and verdict["worth_it"] in (True, False)
    # --ensemble auto: a blend's training time is both parts'
    seconds = metrics["train"]["seconds"] + (
        baseline["seconds"] if metrics["ensemble"]["choice"] == "blend" else 0.0)
    assert verdict["time_ratio"] == pytest.approx(seconds / baseline["seconds"])


def test_report_and_card_say_whether_the_model_is_worth_it(trained_with_baseline: Any) -> None:
    run = trained_with_baseline.run_dir
    report = (run / "report.md").read_text(encoding="utf-8")
    verdict = trained_with_baseline.metrics["baseline"]["verdict"]
    assert "## Baseline" in report and "| test | TF-IDF + logistic regression | 60 |" in report
    assert f"**Is the model worth its cost?** {verdict['sentence']}" in report
    assert "worth its cost here" in verdict["sentence"].lower()
    final = "ensemble" if trained_with_baseline.metrics["ensemble"]["choice"] == "blend" else \
        "transformer"
    assert f"Rule: worth it when the {final}'s test accuracy beats" in report
    assert verdict["sentence"] in (run / "README.md").read_text(encoding="utf-8")


def test_baseline_can_be_turned_off(tmp_path: Path) -> None:
    from lmforge.config.train import resolve_train_config
    from lmforge.training.steps import fit_baseline

    cfg = resolve_train_config(data="x.csv", out=str(tmp_path / "r"), baseline=False)
    assert fit_baseline(cfg, {}, [], None) == (None, None)
    assert "--no-baseline" in _help_of_train()


def _help_of_train() -> str:
    from lmforge.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["train"].format_help()  # type: ignore[union-attr]
