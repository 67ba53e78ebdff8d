"""The real default model on the real data. Minutes each; part of `make test`."""

from __future__ import annotations

from pathlib import Path

import pytest

import lmforge
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow

# 600 training reviews, one epoch (19 steps): measured 0.727 (the TF-IDF baseline: 0.780; frozen
# mean-pooled e5 embeddings + logistic regression on 1,500 reviews: 0.842)
ACCURACY_ZH_E5 = 0.68


def test_sentiment_en_full_data_reaches_082(tmp_path: Path) -> None:
    """Full Rotten Tomatoes, 20% stratified test split, seed 0 (HF Trainer: 0.815). One epoch:
    measured 0.837 (two epochs, the old setting, cost CI about 7 more minutes)."""
    result = lmforge.train(
        data=str(SHARED_DATA / "sentiment_en_rotten_tomatoes.csv"), out=str(tmp_path / "run"),
        test_fraction=0.2, validation_fraction=0.1, seed=0, epochs=1, lr=1e-4,
        batch_size=32, max_length=64, show_progress=False,
    )
    test = result.metrics["test"]
    assert test["n"] == pytest.approx(0.2 * 12752, abs=5)
    assert test["accuracy"] >= 0.82, test
    assert result.metrics["train"]["samples_per_second"] > 0


def test_sentiment_zh_runs_and_reports_unknown_tokens(tmp_path: Path) -> None:
    """The English vocabulary cannot read Chinese: the run completes and says so."""
    result = lmforge.train(
        data=str(SHARED_DATA / "sentiment_zh_reviews.csv"), out=str(tmp_path / "run"),
        model="all-MiniLM-L6-v2", epochs=1, max_length=96, max_train_samples=600,
        max_eval_samples=300, seed=0, show_progress=False,
    )
    unknown = result.metrics["data"]["mostly_unknown_tokens"]
    assert unknown["texts"] > 0.3 * result.metrics["data"]["splits"]["train"]
    assert unknown["share_of_tokens"] > 0.3
    assert "mostly unknown" in (result.run_dir / "report.md").read_text(encoding="utf-8")
    assert result.metrics["test"]["n"] == 300


def test_sentiment_zh_default_trains_on_multilingual_e5(tmp_path: Path) -> None:
    """--model default on Chinese reviews picks multilingual-e5-small, which reads them."""
    result = lmforge.train(
        data=str(SHARED_DATA / "sentiment_zh_reviews.csv"), out=str(tmp_path / "run"),
        epochs=1, max_length=96, max_train_samples=600, max_eval_samples=300, seed=0,
        show_progress=False,
    )
    assert result.config.model == "multilingual-e5-small"
    data = result.metrics["data"]
    assert data["model"]["name"] == "multilingual-e5-small" and data["model"]["licence"] == "MIT"
    assert data["mostly_unknown_tokens"]["share_of_tokens"] < 0.01  # MiniLM: 0.64
    assert result.metrics["test"]["accuracy"] >= ACCURACY_ZH_E5, result.metrics["test"]
