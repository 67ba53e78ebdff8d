from __future__ import annotations

import pytest

from lmforge.config.base import field_docs, from_mapping
from lmforge.config.train import TrainConfig
from lmforge.errors import ConfigError


def test_field_docstrings_are_read_back() -> None:
    docs = field_docs(TrainConfig)
    assert docs["lr"] == "Peak learning rate of AdamW."
    assert "head+tail" in docs["truncation"]
    assert set(docs) == {f for f in TrainConfig.__dataclass_fields__}


def test_unknown_key_lists_valid_keys() -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(TrainConfig, {"data": "a.csv", "learning_rate": 0.1}, source="my.yaml")
    message = str(info.value)
    assert message.startswith("my.yaml: unknown key 'learning_rate'")
    assert "valid keys are: data, out," in message and "lr" in message


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(TrainConfig, {"epochs": "many", "task": "clustering", "overwrite": "maybe"},
                     source="cfg")
    message = str(info.value)
    assert "'epochs'" in message and "'task': must be one of auto, single, multi, regression" in message
    assert "'overwrite': expected true or false" in message


def test_validate_lists_every_invalid_field() -> None:
    cfg = TrainConfig(data="", out="", epochs=0, lr=2.0, max_length=4)
    with pytest.raises(ConfigError) as info:
        cfg.validate()
    message = str(info.value)
    for fragment in ("data: a training file is required", "out: a run directory is required",
                     "epochs: must be >= 1", "lr: must be in (0, 1)", "max_length: must be between"):
        assert fragment in message


def test_strings_from_yaml_or_cli_are_coerced() -> None:
    cfg = from_mapping(TrainConfig, {"data": "a.csv", "out": "r", "epochs": "2", "lr": "3e-5",
                                     "dropout": "none", "overwrite": "true"}, source="cli")
    assert (cfg.epochs, cfg.lr, cfg.dropout, cfg.overwrite) == (2, 3e-5, None, True)
