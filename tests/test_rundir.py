"""config.yaml: one reader and writer, one way of reporting a damaged file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.errors import RunDirError
from lmforge.rundir import read_config, write_config


def test_config_round_trips_in_order_with_its_header(tmp_path: Path) -> None:
    settings = {"task": "single", "model": "default", "labels": ["負", "正"], "max_length": 64}
    write_config(tmp_path, settings, header="lmforge train --config this-file reproduces the run")
    text = (tmp_path / "config.yaml").read_text(encoding="utf-8")
    assert text.startswith("# lmforge train --config this-file reproduces the run\ntask: single\n")
    assert "負" in text
    assert list(read_config(tmp_path)) == list(settings)
    assert read_config(tmp_path) == settings


@pytest.mark.parametrize(("text", "message"), [
    ("task: [single\n", r"config.yaml: not valid YAML"),
    ("- a list\n", r"config.yaml: expected a mapping of key: value"),
])
def test_a_damaged_config_is_a_run_dir_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RunDirError, match=message):
        read_config(tmp_path)


def test_an_empty_config_is_empty_and_a_missing_one_says_so(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("", encoding="utf-8")
    assert read_config(tmp_path) == {}
    with pytest.raises(RunDirError, match=r"cannot read '.*nowhere.*config.yaml'"):
        read_config(tmp_path / "nowhere")
