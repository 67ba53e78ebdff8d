"""Explaining ensemble runs: occlusion on the blend; ig and linear refused; a run that chose
the TF-IDF part alone is explained as that part."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import lmforge
from lmforge.errors import ConfigError
from lmforge.explain.attribute import explain
from tests.ensemble_parts import make_ensemble_run


@pytest.fixture(scope="module")
def ensemble_run(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ensemble_run(trained_run, tmp_path_factory.mktemp("explain-ens") / "run", 0.5)


def test_auto_explains_the_blend_by_occlusion(ensemble_run: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    text = "the acting was superb and moving"
    with caplog.at_level(logging.INFO, logger="lmforge"):
        (e,) = explain(ensemble_run, [text])
    assert "ensemble run: explaining by occlusion" in caplog.text
    assert e.method == "occlusion" and e.score_of == "log-probability"
    assert e.words == ["the", "acting", "was", "superb", "and", "moving"]
    probs = lmforge.load(ensemble_run).predict_proba([text])[0]
    assert [e.probabilities["neg"], e.probabilities["pos"]] == pytest.approx(list(probs), abs=1e-5)
    assert e.target == "pos" and e.target_logit == pytest.approx(np.log(probs[1]), abs=1e-5)
    assert e.scores[e.words.index("superb")] > 0


@pytest.mark.parametrize(("method", "part"), [("ig", "transformer"), ("linear", "TF-IDF")])
def test_one_part_methods_are_refused(ensemble_run: Path, method: str, part: str) -> None:
    with pytest.raises(ConfigError, match=rf"--method {method} would explain the {part} part "
                       r"only, and the run '.*' is an ensemble: it predicts with a blend, weight "
                       r"0.50 on the transformer and 0.50 on the TF-IDF part. Use --method "
                       "occlusion"):
        explain(ensemble_run, ["fine"], method=method)


def test_a_baseline_choice_is_explained_as_its_tfidf_part(trained_run: Path, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    run = make_ensemble_run(trained_run, tmp_path / "run", 0.0, choice="baseline")
    with caplog.at_level(logging.INFO, logger="lmforge"):
        (e,) = explain(run, ["a superb film"])
    assert "predicts with its TF-IDF part alone (validation chose the baseline)" in caplog.text
    assert e.method == "linear" and e.completeness_gap < 1e-4
    with pytest.raises(ConfigError, match="is a TF-IDF run"):
        explain(run, ["a superb film"], method="ig")
