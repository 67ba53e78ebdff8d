"""Every bundled recipe is a valid training config; recipes without data say to pass --data."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.cli import main
from lmforge.config.base import from_mapping
from lmforge.config.train import TrainConfig
from lmforge.recipes import available, load_recipe


@pytest.mark.parametrize("name", available())
def test_recipe_is_a_valid_config(name: str, sentiment_csv: Path) -> None:
    values = load_recipe(name)
    values.setdefault("data", str(sentiment_csv))
    cfg = from_mapping(TrainConfig, values, source=f"recipe {name}")
    cfg.validate()
    for key in ("data", "test"):
        if values.get(key):
            assert Path(values[key]).is_file(), (name, key)  # bundled paths resolve


def test_recipes_cover_the_applications() -> None:
    assert {"sentiment-en", "sentiment-zh", "news-topics", "tiny"} <= set(available())


def test_recipe_without_data_asks_for_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--recipe", "news-topics", "--out", str(tmp_path / "r")]) == 2
    assert "data: a training file is required (--data FILE)" in capsys.readouterr().err


def test_flags_override_the_recipe(tmp_path: Path, sentiment_csv: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "run"
    assert main(["-q", "train", "--recipe", "tiny", "--data", str(sentiment_csv), "--test", "",
                 "--model", str(tiny_model_dir), "--max-length", "32", "--no-baseline",
                 "--out", str(out)]) == 0
    import yaml

    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert config["max_length"] == 32 and config["epochs"] == 1  # flag over recipe, recipe kept
    assert config["data"] == str(sentiment_csv.resolve())
