"""--ensemble auto: the weight and the choice come from validation only; the run directory
holds both parts and loads, predicts and evaluates as the ensemble chose."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lmforge
from tests.conftest import sentiment_rows, write_csv

LABELS = ["neg", "pos"]


@dataclass
class Part:
    """The slice of a data split ``decide_ensemble`` reads."""

    texts: list[str]
    targets: list[Any]

    def __len__(self) -> int:
        return len(self.texts)


class FixedBaseline:
    """A stand-in for the fitted TfidfModel: scores looked up by text."""

    def __init__(self, scores: dict[str, Any]) -> None:
        self._scores = scores

    def scores(self, texts: list[str]) -> Any:
        return np.array([self._scores[t] for t in texts], dtype=np.float32)


def logit_rows(p_pos: list[float]) -> Any:
    """Two-class logits whose softmax gives p(pos) = each value."""
    p = np.clip(np.array(p_pos, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.stack([np.zeros_like(p), np.log(p / (1 - p))], axis=1).astype(np.float32)


def gold(n: int) -> list[str]:
    return ["pos" if i % 2 == 0 else "neg" for i in range(n)]


def p_right(targets: list[str], p: list[float]) -> list[float]:
    """p(pos) that gives the gold label probability p[i]."""
    return [q if t == "pos" else 1 - q for t, q in zip(targets, p, strict=True)]


# ------------------------------------------------------------------ the choice (pure numpy)


def test_blend_logits_mixes_probabilities_and_leaves_the_parts_alone() -> None:
    from lmforge.inference.ensemble import blend_logits, outputs_of

    t, b = logit_rows([0.9, 0.2]), logit_rows([0.5, 0.6])
    assert np.array_equal(blend_logits("single", t, b, 1.0), t)
    assert np.array_equal(blend_logits("single", t, b, 0.0), b)
    mixed = outputs_of("single", blend_logits("single", t, b, 0.25))
    np.testing.assert_allclose(mixed[:, 1], [0.25 * 0.9 + 0.75 * 0.5, 0.25 * 0.2 + 0.75 * 0.6],
                               atol=1e-6)
    multi = outputs_of("multi", blend_logits("multi", np.array([[2.0, -1.0]]),
                                             np.array([[0.0, 0.0]]), 0.5))
    sig = 1 / (1 + np.exp(-np.array([2.0, -1.0])))
    np.testing.assert_allclose(multi[0], 0.5 * sig + 0.25, atol=1e-6)
    reg = blend_logits("regression", np.array([[10.0]]), np.array([[20.0]]), 0.3)
    assert reg[0, 0] == pytest.approx(17.0)


def test_baseline_much_better_on_validation_chooses_baseline() -> None:
    from lmforge.training.ensemble import choose_weight

    y = gold(40)
    rng = np.random.default_rng(0)
    transformer = logit_rows(list(rng.uniform(0.3, 0.7, size=40)))  # a coin toss
    baseline = logit_rows(p_right(y, [0.9] * 40))
    chosen = choose_weight("single", LABELS, transformer, baseline, y)
    assert (chosen.choice, chosen.weight) == ("baseline", 0.0)
    assert chosen.validation["baseline"]["macro_f1"] == 1.0
    assert chosen.validation["transformer"]["macro_f1"] < 0.8


def test_blending_helps_chooses_blend() -> None:
    from lmforge.training.ensemble import choose_weight

    # each part is confidently right on one half and slightly wrong on the other: alone each
    # gets half right, their average gets everything right
    y = gold(40)
    first = [0.9] * 20 + [0.45] * 20
    transformer = logit_rows(p_right(y, first))
    baseline = logit_rows(p_right(y, first[20:] + first[:20]))
    chosen = choose_weight("single", LABELS, transformer, baseline, y)
    assert chosen.choice == "blend" and 0.0 < chosen.weight < 1.0
    assert chosen.weight == chosen.blend_weight
    assert chosen.validation["blend"]["macro_f1"] == 1.0
    assert chosen.validation["transformer"]["accuracy"] == chosen.validation["baseline"][
        "accuracy"] == 0.5


def test_a_better_transformer_is_kept_alone() -> None:
    from lmforge.training.ensemble import choose_weight

    y = gold(40)
    transformer = logit_rows(p_right(y, [0.95] * 40))
    baseline = logit_rows(p_right(y, [0.6] * 30 + [0.3] * 10))
    chosen = choose_weight("single", LABELS, transformer, baseline, y)
    assert (chosen.choice, chosen.weight) == ("transformer", 1.0)


def test_ties_on_the_headline_metric_go_to_the_validation_loss() -> None:
    from lmforge.training.ensemble import choose_weight

    # both parts right everywhere: macro-F1 1.0 for every weight; the transformer is more
    # confident, so its log-loss is lower and no blend beats it
    y = gold(20)
    chosen = choose_weight("single", LABELS, logit_rows(p_right(y, [0.99] * 20)),
                           logit_rows(p_right(y, [0.7] * 20)), y)
    assert chosen.choice == "transformer"
    assert chosen.validation["blend"]["loss"] == pytest.approx(
        chosen.validation["transformer"]["loss"])


def test_multi_label_and_regression_choose_too() -> None:
    from lmforge.training.ensemble import choose_weight

    rng = np.random.default_rng(1)
    targets = [("a",) if i % 2 else ("a", "b") for i in range(30)]
    truth = np.array([[1, 0] if i % 2 else [1, 1] for i in range(30)], dtype=float)
    good = (truth * 2 - 1) * 3.0
    noise = rng.normal(0, 1, size=(30, 2))
    chosen = choose_weight("multi", ["a", "b"], noise, good, targets)
    assert chosen.choice == "baseline"

    values = np.linspace(0, 10, 30)
    t = (values + rng.normal(0, 2, 30))[:, None]
    b = (values - t[:, 0] + values)[:, None]  # errors opposite to the transformer's
    chosen = choose_weight("regression", [], t, b, [float(v) for v in values])
    assert chosen.choice == "blend" and chosen.weight == pytest.approx(0.5)


def decide(test_texts: list[str], test_targets: list[str], test_logits: Any) -> Any:
    from lmforge.training.ensemble import decide_ensemble

    y = gold(40)
    val_texts = [f"validation {i}" for i in range(40)]
    first = [0.9] * 20 + [0.45] * 20
    b_val = logit_rows(p_right(y, first[20:] + first[:20]))
    rng = np.random.default_rng(3)
    b_test = logit_rows(list(rng.uniform(0, 1, len(test_texts))))
    baseline = FixedBaseline({**dict(zip(val_texts, b_val, strict=True)),
                              **dict(zip(test_texts, b_test, strict=True))})
    parts = {"validation": Part(val_texts, y), "test": Part(test_texts, test_targets)}
    logits = {"validation": logit_rows(p_right(y, first)), "test": test_logits}
    return decide_ensemble("auto", "single", LABELS, parts, logits, baseline, {"seconds": 1.0})


def test_no_test_text_or_label_touches_the_choice() -> None:
    a = decide([f"test {i}" for i in range(30)], gold(30), logit_rows([0.8] * 30))
    flipped = ["neg" if t == "pos" else "pos" for t in gold(30)]
    b = decide([f"another test text {i}" for i in range(30)], flipped,
               logit_rows([0.1] * 15 + [0.9] * 15))
    assert (a.choice, a.weight) == (b.choice, b.weight) == ("blend", a.summary["blend_weight"])
    assert a.summary["validation"] == b.summary["validation"]
    assert a.final["validation"] == b.final["validation"]
    assert a.final["test"] != b.final["test"]  # the test scores did change


def test_decision_fills_metrics_json_and_the_report() -> None:
    from lmforge.training.ensemble import report_lines

    decision = decide([f"test {i}" for i in range(30)], gold(30), logit_rows([0.8] * 30))
    metrics: dict[str, Any] = {"test": {"stale": True}}
    decision.apply(metrics)
    ensemble = metrics["ensemble"]
    assert ensemble["choice"] == "blend" and ensemble["weight"] == decision.weight
    assert set(ensemble["validation"]) == {"transformer", "baseline", "blend"}
    assert set(ensemble["test"]) == {"transformer", "baseline", "final"}
    assert ensemble["test"]["transformer"]["n"] == 30 and "per_class" in ensemble["test"][
        "transformer"]
    assert metrics["test"]["n"] == 30 and "stale" not in metrics["test"]
    assert ensemble["test"]["final"]["macro_f1"] == metrics["test"]["macro_f1"]
    text = "\n".join(report_lines(ensemble))
    assert "- choice: **blend**" in text and "The test split played no part" in text
    assert "| final model (blend) |" in text and "validation macro-F1" in text


@pytest.mark.parametrize(("mode", "baseline", "model", "val", "reason"), [
    ("off", {"seconds": 1}, object(), 10, "--ensemble off"),
    ("auto", None, None, 10, "no TF-IDF baseline (--no-baseline)"),
    ("auto", {"skipped": "no n-grams"}, None, 10, "the TF-IDF baseline was skipped: no n-grams"),
    ("auto", {"seconds": 1}, object(), 0, "no validation split to choose the blend weight on"),
])
def test_ensemble_off_is_logged_with_its_reason(mode: str, baseline: Any, model: Any, val: int,
                                                reason: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    from lmforge.training.ensemble import decide_ensemble

    parts = {"validation": Part(["x"] * val, ["pos"] * val), "test": Part(["y"], ["pos"])}
    logits = {"validation": logit_rows([0.5] * val) if val else None, "test": logit_rows([0.5])}
    with caplog.at_level(logging.INFO, logger="lmforge"):
        decision = decide_ensemble(mode, "single", LABELS, parts, logits, model, baseline)
    assert decision.choice == "transformer" and not decision.keeps_baseline
    assert decision.summary["off"].startswith(reason)
    assert any(r.getMessage().startswith(f"ensemble: off ({reason}") for r in caplog.records)
    metrics: dict[str, Any] = {"test": {"n": 1}}
    decision.apply(metrics)
    assert metrics["test"] == {"n": 1}  # the transformer's scores stay


# ------------------------------------------------------------------ through `lmforge train`

# lr 1e-5 for one epoch leaves the tiny random-init BERT near chance, and the TF-IDF baseline
# gets this synthetic sentiment data right: validation must choose the baseline
WEAK = dict(epochs=1, lr=1e-5, batch_size=16, max_length=32, show_progress=False)


def train_on(tmp: Path, model_dir: Path, test_rows: list[tuple[str, str]], **extra: Any) -> Any:
    tmp.mkdir(parents=True, exist_ok=True)
    data = write_csv(tmp / "train.csv", sentiment_rows(160))
    validation = write_csv(tmp / "validation.csv", sentiment_rows(40, seed=11))
    test = write_csv(tmp / "test.csv", test_rows)
    return lmforge.train(data=str(data), validation=str(validation), test=str(test),
                         out=str(tmp / "run"), model=str(model_dir), **{**WEAK, **extra})


@pytest.fixture(scope="module")
def weak_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Any:
    return train_on(tmp_path_factory.mktemp("ensemble-run"), tiny_model_dir,
                    sentiment_rows(40, seed=12))


def test_baseline_much_better_on_validation_makes_a_baseline_run(weak_run: Any) -> None:
    from lmforge.inference.ensemble import EnsembleClassifier

    run, metrics = weak_run.run_dir, weak_run.metrics
    ensemble = metrics["ensemble"]
    assert (ensemble["choice"], ensemble["weight"]) == ("baseline", 0.0)
    assert (run / "ensemble.json").is_file() and (run / "baseline" / "tfidf.json").is_file()
    assert (run / "model" / "model.safetensors").is_file()  # the transformer is kept too
    meta = json.loads((run / "ensemble.json").read_text(encoding="utf-8"))
    assert (meta["choice"], meta["weight"], meta["task"], meta["labels"]) == (
        "baseline", 0.0, "single", ["neg", "pos"])
    # metrics.json "test" is what `predict` does: the baseline's scores
    assert metrics["test"]["accuracy"] == metrics["baseline"]["test"]["accuracy"]
    assert ensemble["test"]["transformer"]["n"] == 40
    clf = lmforge.load(run)
    assert isinstance(clf, EnsembleClassifier) and clf.choice == "baseline"
    texts = [t for t, _ in sentiment_rows(10, seed=12)]
    np.testing.assert_allclose(clf.predict_proba(texts), clf.baseline.predict_proba(texts),
                               atol=1e-6)
    evaluated = lmforge.evaluate(run, weak_run.config.test)
    assert evaluated["accuracy"] == metrics["test"]["accuracy"]
    assert evaluated["loss"] == pytest.approx(metrics["test"]["loss"], abs=1e-5)
    verdict = metrics["baseline"]["verdict"]
    assert verdict["worth_it"] is False and "the final model is the baseline alone" in verdict[
        "sentence"]


def test_report_card_and_log_say_what_the_ensemble_chose(weak_run: Any) -> None:
    run = weak_run.run_dir
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "## Ensemble" in report and "- choice: **baseline**" in report
    assert "| final model (baseline) |" in report
    card = (run / "README.md").read_text(encoding="utf-8")
    assert "## This run is an ensemble" in card and "the TF-IDF part alone" in card


def test_changing_only_the_test_split_changes_no_choice(weak_run: Any, tmp_path: Path,
                                                        tiny_model_dir: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    other = [(f"{text} and more words", "neg" if label == "pos" else "pos")
             for text, label in sentiment_rows(30, seed=99)]
    with caplog.at_level(logging.INFO, logger="lmforge"):
        again = train_on(tmp_path, tiny_model_dir, other)
    a, b = weak_run.metrics["ensemble"], again.metrics["ensemble"]
    assert (a["choice"], a["weight"], a["blend_weight"]) == (b["choice"], b["weight"],
                                                             b["blend_weight"])
    assert a["validation"] == b["validation"]
    assert a["test"]["final"] != b["test"]["final"] and b["test"]["final"]["n"] == 30
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("ensemble: "))
    assert line.startswith("ensemble: baseline (weight 0.00 on the transformer); validation "
                           "macro-F1: transformer ")


def test_ensemble_off_writes_a_plain_run(tmp_path: Path, tiny_model_dir: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    from lmforge.inference.torch import Classifier

    with caplog.at_level(logging.INFO, logger="lmforge"):
        result = train_on(tmp_path, tiny_model_dir, sentiment_rows(20, seed=12), ensemble="off")
    assert result.metrics["ensemble"] == {"choice": "transformer", "weight": 1.0,
                                          "off": "--ensemble off"}
    assert not (result.run_dir / "ensemble.json").exists()
    assert not (result.run_dir / "baseline").exists()
    assert isinstance(lmforge.load(result.run_dir), Classifier)
    assert "ensemble: off (--ensemble off); the model is the transformer alone" in caplog.text
    assert "- off: --ensemble off." in (result.run_dir / "report.md").read_text(encoding="utf-8")
    assert "Rule: worth it when the transformer's test accuracy" in (
        result.run_dir / "report.md").read_text(encoding="utf-8")


def test_help_describes_the_flag() -> None:
    from tests.baseline.test_tfidf_run import _help_of_train

    text = " ".join(_help_of_train().split())
    assert "--ensemble {auto,off}" in text and "w chosen on the validation split only" in text


def test_the_verdict_weighs_the_final_model() -> None:
    blend = decide([f"test {i}" for i in range(30)], gold(30), logit_rows([0.8] * 30))
    verdict = blend.verdict({"accuracy": 0.9, "n": 1000}, {"test": {"accuracy": 0.8},
                                                          "seconds": 1.0}, 99.0)
    assert verdict["time_ratio"] == pytest.approx(100.0)  # both parts' training time
    assert verdict["worth_it"] is True and "the ensemble" not in verdict["sentence"]
    assert verdict["rule"].startswith("worth it when the ensemble's test accuracy beats")
    worse = blend.verdict({"accuracy": 0.7, "n": 1000}, {"test": {"accuracy": 0.8},
                                                         "seconds": 1.0}, 99.0)
    assert "matches or beats the ensemble's (0.800 vs 0.700), and the ensemble took 100x" in \
        worse["sentence"]


@pytest.mark.parametrize(("ensemble", "method"), [
    ({"choice": "blend", "weight": 0.65}, "finetune + tfidf blend 0.65"),
    ({"choice": "baseline", "weight": 0.0}, "finetune -> tfidf"),
    ({"choice": "transformer", "weight": 1.0, "off": "--ensemble off"}, "finetune"),
])
def test_runs_list_names_what_predicts(tmp_path: Path, ensemble: dict[str, Any],
                                       method: str) -> None:
    from lmforge.runs.listing import read_run

    (tmp_path / "model").mkdir()
    (tmp_path / "config.yaml").write_text("task: single\nmodel: default\n", encoding="utf-8")
    (tmp_path / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.9},
                                                       "ensemble": ensemble}), encoding="utf-8")
    assert read_run(tmp_path).method == method
