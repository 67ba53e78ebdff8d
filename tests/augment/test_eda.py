"""EDA operations, spec parsing, synonyms (file and embeddings), and `train --augment`."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

import lmforge
from lmforge.augment.eda import (
    OPERATIONS,
    AugmentSpec,
    augment_examples,
    augment_text,
    parse_spec,
    random_deletion,
    random_insertion,
    random_swap,
    spec_problems,
    synonym_replacement,
)
from lmforge.augment.synonyms import embedding_synonyms, read_synonym_file
from lmforge.augment.words import STOP_WORDS, join_words, split_words
from lmforge.config.train import TrainConfig
from lmforge.data.clean import Examples
from lmforge.errors import ConfigError, DataError
from tests.conftest import sentiment_rows, write_csv

SYN = {"great": ["terrific", "superb"], "film": ["movie"], "awful": ["dreadful"]}
WORDS = "the film was great and the plot was awful".split()


def test_spec_parsing_and_errors() -> None:
    assert parse_spec("eda") == AugmentSpec("eda", 1)
    assert parse_spec("EDA:4") == AugmentSpec("eda", 4)
    assert spec_problems(None) == [] and spec_problems("eda:2") == []
    assert spec_problems("eda:x") == [
        "augment: 'eda:x' is not an augmentation; use eda or eda:N (N augmented copies per "
        "training text, e.g. eda:4)"]
    assert spec_problems("eda:0") == ["augment: N in eda:N must be between 1 and 32, got 0"]
    with pytest.raises(ConfigError, match="'backtranslate' is not an augmentation"):
        parse_spec("backtranslate")


def test_config_reports_augment_problems_with_the_others() -> None:
    cfg = TrainConfig(data="d.csv", out="o", augment="eda:x", epochs=0, synonyms=None)
    with pytest.raises(ConfigError) as err:
        cfg.validate()
    assert "epochs: must be >= 1" in str(err.value)
    assert "augment: 'eda:x' is not an augmentation" in str(err.value)
    with pytest.raises(ConfigError, match="synonyms: only used with --augment eda"):
        TrainConfig(data="d.csv", out="o", synonyms="syn.txt").validate()


def test_synonym_replacement_uses_the_table_and_skips_stop_words() -> None:
    rng = random.Random(0)
    out = synonym_replacement(WORDS, SYN, rng)
    changed = [(a, b) for a, b in zip(WORDS, out, strict=True) if a != b]
    assert len(changed) == 1  # alpha 0.1 of 9 words: at least one
    (old, new), = changed
    assert new in SYN[old]
    # nothing to replace: the text stays as it is
    assert synonym_replacement(["the", "and", "was"], {"the": ["a"]}, rng) == ["the", "and", "was"]


def test_insertion_swap_deletion() -> None:
    rng = random.Random(1)
    inserted = random_insertion(WORDS, SYN, rng)
    assert len(inserted) == len(WORDS) + 1
    assert (Counter(inserted) - Counter(WORDS)).keys() <= {s for v in SYN.values() for s in v}
    swapped = random_swap(WORDS, rng)
    assert sorted(swapped) == sorted(WORDS) and swapped != WORDS
    deleted = random_deletion(WORDS, rng)
    assert len(deleted) < len(WORDS) and not Counter(deleted) - Counter(WORDS)
    assert random_deletion(["one"], rng) == ["one"]  # never an empty text


def test_augment_examples_counts_and_seed() -> None:
    ex = Examples(texts=[" ".join(WORDS), "great film really", "awful awful plot twist"],
                  targets=["pos", "pos", "neg"], task="single", rows=[2, 3, 4])
    out, summary = augment_examples(ex, AugmentSpec("eda", 4), SYN, seed=3)
    again, _ = augment_examples(ex, AugmentSpec("eda", 4), SYN, seed=3)
    assert out.texts == again.texts  # seeded
    assert out.texts[:3] == ex.texts  # originals first, unchanged
    assert summary["texts_added"] == len(out) - 3 == sum(summary["per_operation"].values())
    assert summary["texts_added"] + summary["skipped_unchanged"] == 12
    assert set(summary["per_operation"]) == set(OPERATIONS)
    assert all(n >= 1 for n in summary["per_operation"].values())
    # each copy keeps its source's label and row
    label_of_row = {2: "pos", 3: "pos", 4: "neg"}
    assert [label_of_row[r] for r in out.rows] == out.targets


def test_augment_on_an_empty_training_split_says_what_to_do() -> None:
    empty = Examples(texts=[], targets=[], task="single")
    with pytest.raises(DataError, match="the training split is empty, so there is nothing to "
                       "augment. Add training rows, or lower --validation-fraction"):
        augment_examples(empty, AugmentSpec("eda", 1), SYN, seed=0)


def test_chinese_is_segmented_with_jieba_and_joined_without_spaces() -> None:
    text = "这部电影非常好看，演员的表演很精彩"
    words = split_words(text)
    assert len(words) >= 5 and "".join(words) == text
    assert join_words(words, cjk=True) == text
    assert join_words(["我", "爱", "New", "York"], cjk=True) == "我爱New York"
    swapped = augment_text(text, "random_swap", {}, random.Random(0))
    assert " " not in swapped and sorted(swapped) == sorted(text) and swapped != text
    table = {"电影": ["影片"]}
    assert "影片" in augment_text(text, "synonym_replacement", table, random.Random(0))


def test_synonym_file(tmp_path: Path) -> None:
    path = tmp_path / "syn.txt"
    path.write_text("# comment\nGreat terrific superb\n\nfilm movie\n", encoding="utf-8")
    assert read_synonym_file(path) == {"great": ["terrific", "superb"], "film": ["movie"]}
    path.write_text("great terrific\nlonely\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"syn.txt, line 2: 'lonely' has a word but no synonym"):
        read_synonym_file(path)
    with pytest.raises(ConfigError, match="synonyms: file '.*missing.txt' does not exist"):
        read_synonym_file(tmp_path / "missing.txt")


def test_embedding_synonyms_are_whole_words_only(tiny_model_dir: Path) -> None:
    words = ["great", "film", "the", "playing", "[CLS]", "zzzqqq"]
    table = embedding_synonyms(tiny_model_dir, words, k=8, min_cosine=-1.0)
    assert set(table) == {"great", "film", "playing"}  # stop words, specials, unknowns skipped
    for found in table.values():
        assert len(found) == 8
        assert not [w for w in found if w.startswith("##") or w.startswith("[")
                    or w in STOP_WORDS or not w.isalpha()]
    assert "great" not in table["great"]


FAST = dict(epochs=1, lr=2e-3, batch_size=16, max_length=32, show_progress=False,
            baseline=False, method="finetune")


def test_train_augments_the_training_split_only(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = sentiment_rows(120)
    train = write_csv(tmp_path / "train.csv", rows[:80])
    validation = write_csv(tmp_path / "val.csv", rows[80:100])
    test = write_csv(tmp_path / "test.csv", rows[100:])
    syn = tmp_path / "syn.txt"
    syn.write_text("great terrific\nawful dreadful\nfilm movie\nplot story\n", encoding="utf-8")
    result = lmforge.train(data=str(train), validation=str(validation), test=str(test),
                           out=str(tmp_path / "run"), model=str(tiny_model_dir),
                           augment="eda:3", synonyms=str(syn), **FAST)
    metrics = json.loads((result.run_dir / "metrics.json").read_text(encoding="utf-8"))
    aug = metrics["data"]["augmentation"]
    assert aug["original_texts"] == 80 and aug["copies_per_text"] == 3
    assert 0 < aug["texts_added"] <= 240
    assert metrics["train"]["examples"] == 80 + aug["texts_added"]
    assert metrics["data"]["splits"]["train_after_augmentation"] == 80 + aug["texts_added"]
    # validation and test are the files as given: no augmented text reaches them
    assert metrics["test"]["n"] == 20 and metrics["validation"]["n"] == 20
    assert metrics["data"]["splits"]["test"] == 20 and metrics["data"]["splits"]["validation"] == 20
    assert aug["synonyms"].startswith("file ")
    report = (result.run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Augmentation" in report and f"80 original + {aug['texts_added']} added" in report


def test_train_with_embedding_synonyms_and_the_cli(tmp_path: Path, tiny_model_dir: Path) -> None:
    from lmforge.cli import main

    data = write_csv(tmp_path / "d.csv", sentiment_rows(60))
    assert main(["-q", "train", "--data", str(data), "--out", str(tmp_path / "run"), "--model",
                 str(tiny_model_dir), "--augment", "eda", "--epochs", "1", "--max-length", "32",
                 "--no-show-progress", "--no-baseline", "--method", "finetune"]) == 0
    aug = json.loads((tmp_path / "run" / "metrics.json").read_text())["data"]["augmentation"]
    assert "input embeddings" in aug["synonyms"] and aug["texts_added"] > 0
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "r2"),
                 "--augment", "eda:x"]) == 2
