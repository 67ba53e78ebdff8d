"""Sentence pairs and joined columns through the whole product: a tiny random-init encoder
trained on pairs, then predict (API, CLI), evaluate, serve, ONNX export; TF-IDF runs on
joined columns and on pair regression."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_csv
from tests.helpers import TINY_RUN, session_rng_kept
from tests.serve.test_page_browser import browser  # noqa: F401 - the headless browser fixture

WORDS = "red blue green cat dog sun moon tree river stone".split()
PAIRS = [("red cat", "red dog"), ("a long sentence about the moon", "other tree"),
         ("sun", "sun river stone " * 30)]  # over max_length: longest_first


def pair_rows(n: int, seed: int) -> list[tuple[str, str, str]]:
    """The second sentence starts with the first one's first word ("same") or not."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        first = " ".join(rng.choice(WORDS) for _ in range(5))
        same = i % 2 == 0
        second = (first.split()[0] if same else "other") + " " + " ".join(
            rng.choice(WORDS) for _ in range(3))
        rows.append((f"{first} #{i}", second, "same" if same else "diff"))
    return rows


@pytest.fixture(scope="module")
def pair_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import lmforge

    root = tmp_path_factory.mktemp("pairs")
    header = ("sentence1", "sentence2", "label")
    train = write_csv(root / "train.csv", pair_rows(80, 0), header=header)
    test = write_csv(root / "test.csv", pair_rows(24, 1), header=header)
    with session_rng_kept():
        return lmforge.train(data=str(train), test=str(test), out=str(root / "run"),
                             model=str(tiny_model_dir), epochs=1,
                             **{**TINY_RUN, "baseline": True}).run_dir


def test_the_run_records_the_pair_and_reports_its_baseline(pair_run: Path) -> None:
    import json

    from lmforge.rundir import read_config

    config = read_config(pair_run)
    assert config["pair"] == "sentence1,sentence2" and config["text_col"] is None
    metrics = json.loads((pair_run / "metrics.json").read_text())
    assert metrics["data"]["truncation"] == "longest_first, sentence pairs"
    assert metrics["baseline"]["model"].startswith("TF-IDF of both texts + their overlap")
    report = (pair_run / "report.md").read_text()
    assert "sentence pair of columns 'sentence1' and 'sentence2'" in report
    assert "**Is the model worth its cost?**" in report and "cosine of the two" in report


def test_predict_takes_pairs_and_files(pair_run: Path) -> None:
    import lmforge

    clf = lmforge.load(pair_run)
    logits = clf.logits(PAIRS)
    assert logits.shape == (3, 2)
    # the segment ids reach the model: zeroing them changes the logits
    from lmforge.data.pairs import join_pair
    from lmforge.data.tokenize import encode_texts
    from lmforge.inference.torch import forward_logits

    rows = encode_texts(clf.tokenizer, [join_pair("red cat", "red dog")], 64).input_ids
    plain = [list(r) for r in rows]  # no segment ids
    assert not (forward_logits(clf.model, rows, 0, 8) == forward_logits(clf.model, plain, 0, 8)).all()
    rows = lmforge.predict(pair_run, PAIRS[:2])
    assert rows[0]["text"] == "red cat" and rows[0]["text_pair"] == "red dog"
    from_file = lmforge.predict(pair_run, str(pair_run.parent / "test.csv"))
    assert len(from_file) == 24 and from_file[0]["text_pair"] == pair_rows(24, 1)[0][1]
    metrics = lmforge.evaluate(pair_run, str(pair_run.parent / "test.csv"))
    assert metrics["n"] == 24


def test_cli_predict_writes_both_texts(pair_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import lmforge
    from lmforge.cli import main

    test = pair_run.parent / "test.csv"
    assert main(["predict", str(pair_run), "--data", str(test), "--chunk-rows", "5"]) == 0
    printed = capsys.readouterr()
    out = list(csv.DictReader(io.StringIO(printed.out)))
    assert list(out[0]) == ["sentence1", "sentence2", "label", "predicted_label", "prob_diff",
                            "prob_same"]
    assert [(r["sentence1"], r["sentence2"], r["label"]) for r in out] == pair_rows(24, 1)
    expected = [row["label"] for row in lmforge.predict(pair_run, str(test))]
    assert [r["predicted_label"] for r in out] == expected
    assert "24 of 24 rows have a label (column 'label')" in printed.err
    # one pair typed on the command line; a single text is refused with what to pass
    assert main(["-q", "predict", str(pair_run), "--text", "red cat", "--text-pair", "red dog",
                 "--format", "jsonl"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["text"], row["text_pair"]) == ("red cat", "red dog")
    assert row["predicted_label"] == lmforge.predict(pair_run, [("red cat", "red dog")])[0]["label"]
    assert main(["predict", str(pair_run), "--text", "red cat"]) == 2
    assert ("--text: this model reads sentence pairs (sentence1,sentence2); pass the second text "
            "too: --text FIRST --text-pair SECOND") in capsys.readouterr().err
    assert main(["predict", str(pair_run), "--data", "-"]) == 2
    assert "this model reads sentence pairs (sentence1,sentence2), but one text per line" \
        in capsys.readouterr().err


@pytest.fixture(scope="module")
def pair_client(pair_run: Path) -> Iterator[Any]:
    from lmforge.serve.app import create_app
    from lmforge.serve.config import ServeConfig
    from tests.serve.conftest import serve_app

    client = serve_app(create_app([str(pair_run)], ServeConfig()))
    yield client
    client.__exit__(None, None, None)


def test_the_service_takes_pairs_and_rows(pair_run: Path, pair_client: Any) -> None:
    import lmforge

    info = pair_client.get("/v1/models").json()["models"][0]
    assert info["inputs"] == ["sentence1", "sentence2"] and info["pair"] is True
    expected = lmforge.load(pair_run).predict_proba(PAIRS)
    answer = pair_client.post("/v1/predict", json={"pairs": [list(p) for p in PAIRS]})
    assert answer.status_code == 200
    got = [p["scores"]["same"] for p in answer.json()["predictions"]]
    assert got == pytest.approx(expected[:, 1].tolist(), abs=1e-5)
    rows = pair_client.post("/v1/predict", json={"rows": [
        {"sentence1": a, "sentence2": b} for a, b in PAIRS]}).json()["predictions"]
    assert [p["scores"]["same"] for p in rows] == pytest.approx(got, abs=1e-6)


@pytest.mark.parametrize(("body", "message"), [
    ({"texts": ["one text"]}, 'texts: this model reads sentence pairs (sentence1, sentence2); '
                              'send {"pairs": [["first text", "second text"]]}'),
    ({"pairs": [["a", " "]]}, "pairs[0][1]: only whitespace; every text needs at least one "
                              "visible character"),
    ({"pairs": [["a"]]}, "pairs[0]: a pair is two texts [first, second], not 1"),
    ({"pairs": []}, "pairs: the list is empty; send at least one"),
    ({"rows": [{"sentence1": "a", "sentence2": ""}]},
     "rows[0].sentence2: empty, but a sentence pair needs both texts"),
    ({"rows": [{"sentence1": "a", "other": "b"}]},
     "rows[0]: each row needs exactly the model's inputs 'sentence1', 'sentence2'; missing "
     "'sentence2'; unknown 'other'"),
    ({"pairs": [["a", "b"]], "texts": ["c"]},
     "pairs: unknown field; the fields are 'texts' and 'model'"),
])
def test_the_service_refuses_bad_pairs(pair_client: Any, body: dict[str, Any],
                                       message: str) -> None:
    answer = pair_client.post("/v1/predict", json=body)
    assert answer.status_code == 422 and answer.json()["error"]["message"] == message


def test_onnx_export_takes_segment_ids_and_matches_pytorch(
        pair_run: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    import lmforge
    from tests.helpers import export_onnx_run

    out = export_onnx_run(pair_run, tmp_path_factory.mktemp("pair-onnx") / "onnx")
    onnx = lmforge.load(out)
    assert {i.name for i in onnx.model.get_inputs()} == {"input_ids", "attention_mask",
                                                         "token_type_ids"}
    import numpy as np

    assert np.abs(onnx.logits(PAIRS) - lmforge.load(pair_run).logits(PAIRS)).max() < 1e-4


def test_joined_columns_are_rebuilt_by_predict_and_the_service(tmp_path: Path) -> None:
    """A TF-IDF run (seconds) on title + body: the join recorded in config.yaml is how
    predict and the service read the columns again."""
    import lmforge
    from lmforge.data.pairs import JOIN_MARK
    from lmforge.serve.app import create_app
    from lmforge.serve.config import ServeConfig
    from tests.serve.conftest import serve_app

    rng = random.Random(0)
    rows = [(f"{topic} news {i}", " ".join(rng.choice(WORDS) for _ in range(12)), topic)
            for i, topic in enumerate(["sports", "weather"] * 40)]
    data = write_csv(tmp_path / "news.csv", rows, header=("title", "body", "topic"))
    with session_rng_kept():
        run = lmforge.train(data=str(data), out=str(tmp_path / "run"), model="tfidf",
                            text_col="title,body", label_col="topic",
                            show_progress=False).run_dir
    clf = lmforge.load(run)
    assert clf.settings["text_col"] == "title,body"
    predicted = lmforge.predict(run, str(data))
    assert predicted[0]["text"] == f"{rows[0][0]} | {rows[0][1]}"
    direct = clf.predict_proba([f"{t}{JOIN_MARK}{b}" for t, b, _ in rows[:4]])
    assert [r["prob_weather"] for r in predicted[:4]] == pytest.approx(direct[:, 1].tolist())
    client = serve_app(create_app([str(run)], ServeConfig()))
    try:
        assert client.get("/v1/models").json()["models"][0]["inputs"] == ["title", "body"]
        answer = client.post("/v1/predict", json={"rows": [{"title": t, "body": b}
                                                           for t, b, _ in rows[:4]]})
        assert [p["scores"]["weather"] for p in answer.json()["predictions"]] == pytest.approx(
            direct[:, 1].tolist(), abs=1e-6)
    finally:
        client.__exit__(None, None, None)


def test_pair_regression_with_the_tfidf_model(tmp_path: Path) -> None:
    import lmforge

    rng = random.Random(1)
    rows = []
    for _ in range(60):
        first = [rng.choice(WORDS) for _ in range(6)]
        keep = rng.randint(0, 6)
        second = first[:keep] + [rng.choice(["x", "y", "z"]) for _ in range(6 - keep)]
        rows.append((" ".join(first), " ".join(second), f"{keep / 6 * 5:.2f}"))
    data = write_csv(tmp_path / "sts.csv", rows, header=("text_a", "text_b", "score"))
    with session_rng_kept():
        result = lmforge.train(data=str(data), out=str(tmp_path / "run"), model="tfidf",
                               task="regression", show_progress=False)
    assert result.config.task == "regression" and result.config.pair == "text_a,text_b"
    values = lmforge.load(result.run_dir).predict([("a b c", "a b c"), ("a b c", "x y z")])
    assert values[0] > values[1]


def test_the_page_shows_two_boxes_for_pairs(pair_run: Path, browser: Any) -> None:  # noqa: F811
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from lmforge.serve.app import create_app
    from tests.serve.conftest import LiveServer

    with LiveServer(create_app([pair_run])) as server:
        browser.get(server.url + "/")
        wait = WebDriverWait(browser, 20)
        wait.until(lambda d: d.find_elements(By.ID, "text-2"))
        assert browser.find_element(By.ID, "text-label").text == "sentence1"
        assert browser.find_element(By.CSS_SELECTOR, "label[for=text-2]").text == "sentence2"
        assert not browser.find_element(By.ID, "explain").is_displayed()
        browser.find_element(By.ID, "text").send_keys("red cat")
        browser.find_element(By.ID, "predict").click()
        error = wait.until(ec.visibility_of_element_located((By.ID, "error")))
        assert error.text == "Type both texts first."
        browser.find_element(By.ID, "text-2").send_keys("red dog")
        browser.find_element(By.ID, "predict").click()
        wait.until(ec.visibility_of_element_located((By.ID, "result")))
        expected = httpx.post(server.url + "/v1/predict",
                              json={"pairs": [["red cat", "red dog"]]}).json()
        assert browser.find_element(By.ID, "label").text == expected["predictions"][0]["label"]
