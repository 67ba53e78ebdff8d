"""`lmforge train` with --model default: mostly-CJK data trains on multilingual-e5-small,
English on all-MiniLM-L6-v2, an explicit --model wins; the run records which, its licence
and why (config.yaml, metrics.json, report.md, README.md). The registry models are swapped
for the tiny random BERT so each run takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import lmforge
from lmforge.eval.report import render_model_card
from lmforge.models import registry
from tests.conftest import sentiment_rows, write_csv

FAST = dict(epochs=1, lr=2e-3, batch_size=16, max_length=32, show_progress=False,
            baseline=False)
ZH_POS = ["这部手机我非常喜欢", "屏幕很清楚，速度很快", "质量很好，物流也快", "非常满意，推荐购买"]
ZH_NEG = ["快递太慢了，等了一个星期", "质量很差，不值这个价", "电池不耐用，很失望", "客服态度很差"]


def zh_rows(n: int) -> list[tuple[str, str]]:
    return [(f"{(ZH_POS if i % 2 == 0 else ZH_NEG)[i // 2 % 4]}（{i}）", "pos" if i % 2 == 0 else "neg")
            for i in range(n)]


@pytest.fixture
def tiny_registry(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every registry name resolves to the tiny BERT; returns the names asked for."""
    asked: list[str] = []

    def resolve(model: str) -> Path:
        asked.append(model)
        if model.lower() in registry.REGISTRY:
            return tiny_model_dir
        return registry.check_model_dir(Path(model))

    monkeypatch.setattr(registry, "resolve_model_dir", resolve)
    return asked


def read_run(run: Path) -> tuple[dict, dict, str, str]:
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    return (config, metrics, (run / "report.md").read_text(encoding="utf-8"),
            (run / "README.md").read_text(encoding="utf-8"))


def test_chinese_data_trains_on_multilingual_e5(tmp_path: Path, tiny_registry: list[str]) -> None:
    data = write_csv(tmp_path / "zh.csv", zh_rows(80))
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), **FAST)
    assert tiny_registry == ["multilingual-e5-small"]
    config, metrics, report, card = read_run(result.run_dir)
    assert config["model"] == "multilingual-e5-small"  # config.yaml reproduces the choice
    model = metrics["data"]["model"]
    assert model["name"] == "multilingual-e5-small" and model["licence"] == "MIT"
    assert model["reason"].startswith("--model default: 100% of the letters are Chinese/"
                                      "Japanese/Korean (at least 30%)")
    assert "- base model: multilingual-e5-small (licence: MIT; --model default: 100%" in report
    assert "fine-tuned with lmforge from `multilingual-e5-small`" in card
    assert "Base model licence: MIT." in card


def test_english_data_keeps_minilm(tmp_path: Path, tiny_registry: list[str]) -> None:
    data = write_csv(tmp_path / "en.csv", sentiment_rows(80))
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), **FAST)
    assert tiny_registry == ["all-MiniLM-L6-v2"]
    config, metrics, _, card = read_run(result.run_dir)
    assert config["model"] == "all-MiniLM-L6-v2"
    assert metrics["data"]["model"]["licence"] == "Apache-2.0"
    assert "Base model licence: Apache-2.0." in card


def test_an_explicit_model_wins(tmp_path: Path, tiny_registry: list[str],
                                tiny_model_dir: Path) -> None:
    data = write_csv(tmp_path / "zh.csv", zh_rows(80))
    result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                           **FAST)
    assert tiny_registry == [str(tiny_model_dir)]
    config, metrics, _, _ = read_run(result.run_dir)
    assert config["model"] == str(tiny_model_dir)
    assert metrics["data"]["model"]["reason"] == "given with --model"
    assert metrics["data"]["model"]["licence"].startswith("unknown")
    tiny_registry.clear()
    lmforge.train(data=str(data), out=str(tmp_path / "m3e"), model="m3e-small", **FAST)
    assert tiny_registry == ["m3e-small"]
    _, metrics, _, card = read_run(tmp_path / "m3e")
    assert metrics["data"]["model"]["licence"] == "non-commercial research only"
    assert "Base model licence: non-commercial research only." in card
    assert ("- The base model, m3e-small: its licence allows non-commercial research use "
            "only") in card


def test_card_without_a_recorded_model_is_unchanged() -> None:
    card = render_model_card(model_name="m", base_model="b", task="single", labels=["a", "b"],
                             metrics={}, config={}, usage_dir="runs/m")
    assert "licence" not in card.lower()
