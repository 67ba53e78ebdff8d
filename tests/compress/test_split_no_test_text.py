"""Pruning and distillation never train on a test text.

Both re-read a run's data from its config.yaml; the split they reproduce must be the
one `lmforge train` made (``data.split.split_for_training``, called by both), or a
recovery fine-tune could learn the very texts the report then scores. The run here
is a real `lmforge train` whose validation and test splits are carved out of ``data``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.compress.conftest import FAST_BENCH
from tests.conftest import sentiment_rows, write_csv

TUNE = {"epochs": 1, "batch_size": 16, "show_progress": False}


@pytest.fixture(scope="module")
def carved_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    import lmforge

    root = tmp_path_factory.mktemp("carved")
    data = write_csv(root / "reviews.csv", sentiment_rows(150, seed=3))
    return lmforge.train(data=str(data), out=str(root / "run"), model=str(tiny_model_dir),
                         epochs=1, max_length=64, baseline=False, ensemble="off",
                         show_progress=False).run_dir


def _training_parts(run: Path) -> dict[str, Any]:
    """The parts exactly as training made them, from the run's own (resolved) config."""
    import yaml

    from lmforge.config.train import resolve_train_config
    from lmforge.training.prepare import prepare

    settings = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    settings["out"] = str(run.parent / "never-written")
    return prepare(resolve_train_config(**settings)).parts


def _rows(run: Path, texts: list[str]) -> set[tuple[int, ...]]:
    from lmforge.data.clean import clean_text
    from lmforge.data.tokenize import encode_texts
    from lmforge.runs.load import load_run

    clf = load_run(run)
    encoded = encode_texts(clf.tokenizer, [clean_text(t) for t in texts], clf.max_length,
                           clf.truncation)
    return {tuple(r) for r in encoded.input_ids}


def _spy_on_fit(monkeypatch: pytest.MonkeyPatch) -> list[set[tuple[int, ...]]]:
    """Every call of the training loop records the token rows it trains on."""
    import lmforge.training.loop as loop

    seen: list[set[tuple[int, ...]]] = []
    real_fit = loop.fit

    def spy(model: Any, input_ids: list[list[int]], *args: Any, **kwargs: Any) -> Any:
        seen.append({tuple(r) for r in input_ids})
        return real_fit(model, input_ids, *args, **kwargs)

    monkeypatch.setattr(loop, "fit", spy)
    return seen


def test_compress_reproduces_the_training_split(carved_run: Path) -> None:
    from lmforge.compress.rundata import reproduced_splits, test_examples, training_examples
    from lmforge.config.base import load_yaml

    settings = load_yaml(carved_run / "config.yaml")
    parts = _training_parts(carved_run)
    again = reproduced_splits(settings, "single")
    for name in ("train", "validation", "test"):
        assert again[name].texts == parts[name].texts, name
    train = training_examples(settings, "single")
    test = test_examples(settings, "single")
    assert test is not None and len(test) == len(parts["test"]) > 0
    assert not set(train.texts) & set(test.texts)
    metrics = json.loads((carved_run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["test"]["n"] == len(test)


def test_pruning_never_trains_on_a_test_text(carved_run: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from lmforge.compress.config import PruneConfig
    from lmforge.compress.prune import prune_run

    seen = _spy_on_fit(monkeypatch)
    prune_run(PruneConfig(run_dir=str(carved_run), out=str(tmp_path / "pruned"), layers=1,
                          **TUNE, **FAST_BENCH))
    parts = _training_parts(carved_run)
    assert len(seen) == 1
    assert seen[0] == _rows(carved_run, parts["train"].texts)  # the run's own training split
    assert not seen[0] & _rows(carved_run, parts["test"].texts)


def test_distillation_on_the_training_split_never_trains_on_a_test_text(
        carved_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmforge.compress.config import DistillConfig
    from lmforge.compress.distill import distill_run

    parts = _training_parts(carved_run)
    train_file = write_csv(tmp_path / "train-split.csv",
                           list(zip(parts["train"].texts, parts["train"].targets, strict=True)))
    seen = _spy_on_fit(monkeypatch)
    result = distill_run(DistillConfig(teacher=str(carved_run), student="layers:1",
                                       data=str(train_file), out=str(tmp_path / "student"),
                                       **TUNE, **FAST_BENCH))
    assert len(seen) == 1
    assert not seen[0] & _rows(carved_run, parts["test"].texts)
    # and the student is scored on the run's test split, the texts it never saw
    metrics = json.loads((result.out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["test"]["n"] == len(parts["test"])
