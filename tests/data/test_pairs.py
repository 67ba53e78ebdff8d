"""Inputs of several texts: columns joined into one input, sentence pairs (data.pairs), their
detection, cleaning, tokenization and TF-IDF features. No model is trained here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.conftest import write_csv

from lmforge.data.pairs import JOIN_MARK, PAIR_MARK, join_pair, split_pair
from lmforge.errors import ConfigError, DataError

PAIR_ROWS = [("A man plays a guitar.", "Someone makes music.", "yes"),
             ("A dog runs.", "The cat sleeps.", "no"),
             ("Rain fell all day.", "", "no"),  # one side empty: dropped, counted
             ("", "", "yes"),  # both empty: an empty text, as for single texts
             ("The sun rose.", "It was morning.", "yes")]


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    from lmforge.models.registry import resolve_model_dir

    return AutoTokenizer.from_pretrained(str(resolve_model_dir("default")))


def _frame(columns: list[str], rows: list[tuple[Any, ...]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


@pytest.mark.parametrize(("columns", "pair"), [
    (["sentence1", "sentence2", "label"], ("sentence1", "sentence2")),
    (["Premise", "Hypothesis", "label"], ("Premise", "Hypothesis")),
    (["id", "question", "answer", "label"], ("question", "answer")),
    (["text_a", "text_b", "score"], ("text_a", "text_b")),
])
def test_pairs_are_detected_by_name(columns: list[str], pair: tuple[str, str]) -> None:
    from lmforge.data.columns import detect_columns

    df = _frame(columns, [tuple(f"{c} {i}" for c in columns) for i in range(4)])
    choice = detect_columns(df, "f.csv")
    assert choice.pair and choice.text_columns == pair
    assert choice.pair_col == ",".join(pair) and choice.text_col is None
    # a text column given by name reads that column alone
    alone = detect_columns(df, "f.csv", text_col=pair[0])
    assert not alone.pair and alone.text_columns == (pair[0],)


def test_given_columns_are_checked() -> None:
    from lmforge.data.columns import detect_columns

    df = _frame(["s1", "s2", "label"], [("a", "b", "x")])
    choice = detect_columns(df, "f.csv", pair="s1,s2")
    assert choice.pair and choice.text_columns == ("s1", "s2")
    joined = detect_columns(df, "f.csv", text_col=["s1", "s2"])
    assert not joined.pair and joined.text == "s1,s2"
    with pytest.raises(DataError) as missing:
        detect_columns(df, "f.csv", pair="s1,s3")
    assert str(missing.value) == ("column 's3' is not in f.csv; its columns are: s1, s2, label. "
                                  "Pass --pair with one of them.")
    with pytest.raises(DataError, match="--pair needs exactly two column names"):
        detect_columns(df, "f.csv", pair="s1")
    with pytest.raises(DataError, match="either --text-col or --pair"):
        detect_columns(df, "f.csv", text_col="s1", pair="s1,s2")


def test_a_title_and_a_body_are_suggested_not_joined() -> None:
    from lmforge.data.columns import detect_columns

    df = _frame(["title", "text", "label"],
                [("Short title", "A much longer body of text that says a lot more " * 2, "a"),
                 ("Other title", "Another long body with many words in it " * 2, "b")])
    choice = detect_columns(df, "f.csv")
    assert choice.text == "text" and not choice.pair
    assert "--text-col title,text reads both" in choice.reason


def test_joined_columns_keep_empty_cells_in_place(tmp_path: Path) -> None:
    from lmforge.data import load_examples, read_texts

    path = write_csv(tmp_path / "news.csv", [("Storm <b>hits</b>", "Rain all day", "weather"),
                                             ("", "No title here", "misc"),
                                             ("Only a title", "", "misc"), ("", "", "misc")],
                     header=("title", "body", "topic"))
    loaded = load_examples(path, text_col="title,body", label_col="topic")
    assert loaded.examples.texts == [f"Storm hits{JOIN_MARK}Rain all day",
                                     f"{JOIN_MARK}No title here", f"Only a title{JOIN_MARK}"]
    assert loaded.clean.dropped_empty_text == 1 and loaded.clean.html_stripped == 1
    assert read_texts(path, "title,body")[1] == f"{JOIN_MARK}No title here"


def test_pairs_with_an_empty_side_are_dropped_and_counted(tmp_path: Path) -> None:
    from lmforge.data import load_examples

    path = write_csv(tmp_path / "pairs.csv", PAIR_ROWS, header=("sentence1", "sentence2", "label"))
    loaded = load_examples(path)
    assert loaded.columns.pair
    assert loaded.examples.texts[0] == join_pair("A man plays a guitar.", "Someone makes music.")
    assert len(loaded.examples) == 3
    assert loaded.clean.dropped_half_empty_pair == 1 and loaded.clean.dropped_empty_text == 1


def test_prediction_input_with_an_empty_side_is_an_error(tmp_path: Path) -> None:
    from lmforge.data import read_inputs

    path = write_csv(tmp_path / "pairs.csv", [r[:2] for r in PAIR_ROWS[:3]],
                     header=("sentence1", "sentence2"))
    with pytest.raises(DataError) as error:
        read_inputs(path, {"pair": "sentence1,sentence2"})
    assert str(error.value) == (f"{path}: row 4, column 'sentence2' is empty, but this model "
                                "reads sentence pairs: both texts are needed. Fill it in or "
                                "remove the row.")
    with pytest.raises(DataError, match="lacks the column.*'sentence2' of the run's sentence"):
        read_inputs(write_csv(tmp_path / "one.csv", [("a",)], header=("sentence1",)),
                    {"pair": "sentence1,sentence2"})


def test_split_pair_and_library_inputs() -> None:
    from lmforge.inference.surface import as_texts, check_inputs

    assert split_pair(join_pair(" a b ", "c")) == ("a b", "c")
    assert as_texts([("a", "b"), "c"]) == [f"a{PAIR_MARK}b", "c"]
    with pytest.raises(DataError, match="text #0: the second text of the pair is empty"):
        as_texts([("a", " ")])
    with pytest.raises(DataError, match="text #1: 'one' is one text, but this model reads "
                                        "sentence pairs"):
        check_inputs([join_pair("a", "b"), "one"], pairs=True)
    with pytest.raises(DataError, match="text #0 is a sentence pair, but this model reads one"):
        check_inputs([join_pair("a", "b")], pairs=False)


def test_pairs_encode_as_the_tokenizer_encodes_a_pair(tokenizer: Any) -> None:
    from lmforge.data.tokenize import PairIds, encode_texts, pad_batch

    firsts = ["a short one", "a rather long first sentence " * 8, "x"]
    seconds = ["and its partner", "short", "a long second sentence " * 8]
    encoded = encode_texts(tokenizer, [join_pair(a, b) for a, b in zip(firsts, seconds,
                                                                       strict=True)], 32)
    reference = tokenizer(firsts, seconds, truncation="longest_first", max_length=32)
    assert [list(r) for r in encoded.input_ids] == reference["input_ids"]
    assert [r.token_type_ids for r in encoded.input_ids] == reference["token_type_ids"]
    assert all(isinstance(r, PairIds) for r in encoded.input_ids)
    assert encoded.n_truncated == 2 and encoded.longest > 32
    batch = pad_batch(encoded.input_ids, 0)
    assert batch["token_type_ids"].tolist()[0] == reference["token_type_ids"][0] + [0] * (
        batch["input_ids"].shape[1] - len(reference["input_ids"][0]))


def test_joined_columns_encode_with_the_separator_token(tokenizer: Any) -> None:
    from lmforge.data.tokenize import encode_texts

    encoded = encode_texts(tokenizer, [f"Storm hits{JOIN_MARK}Rain all day"], 64)
    assert encoded.input_ids[0] == tokenizer("Storm hits [SEP] Rain all day")["input_ids"]
    assert "token_type_ids" not in __import__("lmforge.data.tokenize", fromlist=["x"]).pad_batch(
        encoded.input_ids, 0)


def test_windows_are_refused_for_pairs(tokenizer: Any, tmp_path: Path) -> None:
    import lmforge
    from lmforge.config.train import resolve_train_config
    from lmforge.data.tokenize import WindowSpec, encode_texts

    with pytest.raises(ConfigError, match="--long-text window reads one long text"):
        encode_texts(tokenizer, [join_pair("a", "b")], 32, windows=WindowSpec(24, 4))
    with pytest.raises(ConfigError, match="long_text: window reads one long text as windows"):
        resolve_train_config(data="d.csv", out="o", pair="a,b", long_text="window")
    data = write_csv(tmp_path / "pairs.csv", PAIR_ROWS, header=("premise", "hypothesis", "label"))
    with pytest.raises(ConfigError, match="sentence pair of columns 'premise' and 'hypothesis'"):
        lmforge.train(data=str(data), out=str(tmp_path / "run"), long_text="window")
    assert not (tmp_path / "run").exists()


def test_config_takes_a_list_of_columns(tmp_path: Path) -> None:
    from lmforge.config.base import from_mapping, load_yaml
    from lmforge.config.train import TrainConfig

    (tmp_path / "c.yaml").write_text("data: d.csv\nout: o\ntext_col: [title, text]\n")
    config = from_mapping(TrainConfig, load_yaml(tmp_path / "c.yaml"), source="c.yaml")
    assert config.text_col == "title,text"
    with pytest.raises(ConfigError, match="pair: needs two column names"):
        from_mapping(TrainConfig, {"data": "d", "out": "o", "pair": "a"}, source="x").validate()


def test_tfidf_pair_features_and_their_round_trip(tmp_path: Path) -> None:
    import numpy as np

    from lmforge.models.tfidf import fit_tfidf, load_tfidf, save_tfidf

    texts = [join_pair(f"the cat sat {i}", f"the cat sat {i}" if i % 2 else f"a dog ran {i}")
             for i in range(20)]
    targets = ["same" if i % 2 else "diff" for i in range(20)]
    model = fit_tfidf("single", texts, targets, ["diff", "same"])
    assert model.pair and model.describe()["pair_features"]
    x = model.features(texts[:2]).toarray()
    width = len(model.vocabulary)
    assert x.shape == (2, 2 * width + 2)
    assert x[1, -2] == pytest.approx(1.0) and x[1, -1] == pytest.approx(1.0)  # identical sides
    # "the cat sat 0" / "a dog ran 0": "0" is their one shared n-gram of 13 (1-2-grams)
    assert x[0, -1] == pytest.approx(1 / 13)
    assert model.scores(texts).argmax(axis=1).tolist() == [t == "same" for t in targets]
    save_tfidf(model, tmp_path / "m")
    again = load_tfidf(tmp_path / "m")
    assert again.pair and np.allclose(again.scores(texts), model.scores(texts))
    with pytest.raises(DataError, match="is one text, but this model reads sentence pairs"):
        model.scores(["single"])
