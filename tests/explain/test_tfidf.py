"""explain on `--model tfidf` runs: the linear model's exact per-word contributions by default,
occlusion on request, a clear error for ig; and `auto` picking the method for each kind of run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lmforge
from lmforge.cli import main
from lmforge.errors import ConfigError
from lmforge.explain import explain

TEXTS = ["the film was wonderful and superb", "the plot was really dull and awful",
         "a superb cast but a dull, painful story"]


def _log_odds(clf: Any, texts: list[str], target: str) -> np.ndarray:
    """The score a binary TF-IDF run is explained on: logit(target) - logit(other label)."""
    logits = clf.logits(texts)
    t = clf.labels.index(target)
    return logits[:, t] - logits[:, 1 - t]


def test_default_is_the_exact_linear_explanation(tfidf_run: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    clf = lmforge.load(tfidf_run)
    with caplog.at_level(logging.INFO, logger="lmforge.explain.attribute"):
        result = explain(clf, TEXTS)
    assert "TF-IDF run: explaining with the linear model's own per-word contributions" in caplog.text
    assert [e.method for e in result] == ["linear"] * 3
    assert [e.target for e in result] == clf.predict(TEXTS)
    for e in result:
        assert e.score_of == "log-odds"
        assert e.target_logit == pytest.approx(float(_log_odds(clf, [e.text], e.target)[0]), abs=1e-5)
        assert e.baseline_logit == pytest.approx(float(_log_odds(clf, [""], e.target)[0]), abs=1e-5)
        # completeness, exact for a linear model: the words share out all of the difference
        assert sum(e.scores) == pytest.approx(e.target_logit - e.baseline_logit, abs=1e-5)
        assert e.completeness_gap < 1e-5 and e.words == e.text.replace(",", "").split()


def test_linear_scores_point_the_right_way(tfidf_run: Path) -> None:
    pos, neg, mixed = explain(tfidf_run, TEXTS, method="linear")
    assert pos.target == "pos" and neg.target == "neg"
    for e, words in ((pos, ("wonderful", "superb")), (neg, ("dull", "awful"))):
        for word in words:
            assert e.scores[e.words.index(word)] > 0.1, (word, e.scores)
    # a negative prediction is explained too (the first label's logit alone is constant 0)
    (as_pos,) = explain(tfidf_run, TEXTS[2:], method="linear", target="pos")
    (as_neg,) = explain(tfidf_run, TEXTS[2:], method="linear", target="neg")
    assert as_pos.scores == pytest.approx([-s for s in as_neg.scores], abs=1e-6)
    assert as_pos.scores[as_pos.words.index("superb")] > 0 > as_pos.scores[as_pos.words.index("dull")]


def test_a_word_outside_the_vocabulary_gets_zero(tfidf_run: Path) -> None:
    (e,) = explain(tfidf_run, ["superb zyxwvut"], method="linear")
    assert e.words == ["superb", "zyxwvut"] and e.scores[1] == 0.0 and e.scores[0] != 0.0


def test_occlusion_is_the_drop_in_the_log_odds(tfidf_run: Path) -> None:
    clf = lmforge.load(tfidf_run)
    (e,) = explain(clf, ["the plot was awful"], method="occlusion")
    assert e.method == "occlusion" and e.target == "neg" and e.score_of == "log-odds"
    full, without_awful = _log_odds(clf, ["the plot was awful", "the plot was"], "neg")
    assert e.target_logit == pytest.approx(float(full), abs=1e-5)
    assert e.scores[3] == pytest.approx(float(full - without_awful), abs=1e-5) and e.scores[3] > 0


def test_ig_on_a_tfidf_run_says_to_use_occlusion(tfidf_run: Path) -> None:
    with pytest.raises(ConfigError) as err:
        explain(tfidf_run, TEXTS, method="ig")
    assert str(err.value) == (
        f"--method ig needs a neural network's input embeddings, and the run '{tfidf_run}' is a "
        "TF-IDF run (`lmforge train --model tfidf`: n-gram weights and a linear model, no "
        "embeddings). Use --method occlusion (leave-one-word-out), or leave --method out for the "
        "linear model's exact per-word contributions (--method linear).")


def test_linear_on_a_pytorch_run_is_refused(trained_run: Path) -> None:
    with pytest.raises(ConfigError, match=r"--method linear reads the coefficients of a TF-IDF "
                                          r"run's linear model, and the run '.*' is a PyTorch run\. "
                                          r"Use --method ig or occlusion"):
        explain(trained_run, TEXTS, method="linear")


def test_auto_picks_ig_for_pytorch_and_occlusion_for_onnx(trained_clf: Any, onnx_run: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    assert [e.method for e in explain(trained_clf, TEXTS[:1])] == ["ig"]
    with caplog.at_level(logging.INFO, logger="lmforge.explain.attribute"):
        (e,) = explain(onnx_run, TEXTS[:1])
    assert e.method == "occlusion" and "ONNX run: explaining by occlusion" in caplog.text


def test_chinese_run_explained_per_character(tfidf_zh_run: Path) -> None:
    (e,) = explain(tfidf_zh_run, ["这部电影很无聊"])
    assert e.method == "linear" and e.target == "neg"
    assert e.words == list("这部电影很无聊")
    assert sum(e.scores) == pytest.approx(e.target_logit - e.baseline_logit, abs=1e-5)
    assert min(e.scores[5], e.scores[6]) > max(e.scores[:4])  # 无聊 carries it, not 这部电影


def test_cli_on_a_tfidf_run(tfidf_run: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "why.json"
    assert main(["explain", str(tfidf_run), "--text", "the film was superb", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "Why the model said 'pos'" in out and "the linear model's own weights" in out
    assert "completeness gap" in out and "superb[+" in out
    assert main(["explain", str(tfidf_run), "--text", "the film was superb", "--method", "ig"]) == 2
    assert "error: --method ig needs a neural network's input embeddings" in capsys.readouterr().err
