"""``--task tokens`` through the product on a tiny random-init encoder: train (CRF baseline,
seqeval report), evaluate, predict (JSONL offsets, CoNLL), the Python API, export --onnx,
serve, and bad input (exit 2, no run directory left)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lmforge.cli import main
from tests.helpers import session_rng_kept
from tests.token_data import (
    ner_sentences,
    pos_sentences,
    write_conll,
    write_jsonl,
    zh_pos_sentences,
    zh_sentences,
)

TINY = {"show_progress": False, "batch_size": 8, "eval_batch_size": 16, "lr": 5e-3,
        "max_length": 12}


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Any:
    """Trained once for the module: 100 BIO sentences, 2 epochs, CRF baseline on; max length 12
    sub-words so the longer sentences are read as windows."""
    import lmforge

    root = tmp_path_factory.mktemp("ner")
    data = write_conll(root / "ner.conll", ner_sentences(100))
    with session_rng_kept():
        return lmforge.train(data=str(data), out=str(root / "run"), model=str(tiny_model_dir),
                             task="tokens", epochs=2, **TINY)


def test_train_writes_a_token_run_with_crf_baseline_and_report(ner_run: Any) -> None:
    run, metrics = ner_run.run_dir, ner_run.metrics
    assert json.loads((run / "run.json").read_text())["kind"] == "tokens"
    meta = json.loads((run / "tokens.json").read_text())
    assert meta["scheme"] == "bio" and meta["unit"] == "word" and meta["labels"][0] == "O"
    test = metrics["test"]
    assert set(test["per_type"]) == {"PER", "LOC", "ORG"}
    assert 0 <= test["precision"] <= 1 and 0 <= test["f1"] <= 1 and 0 < test["accuracy"] <= 1
    history = metrics["train"]["history"]
    assert history[1]["train_loss"] < history[0]["train_loss"]  # it learns
    assert metrics["data"]["encoding"]["train"]["windowed"] > 0  # long sentences as windows
    baseline = metrics["baseline"]
    assert baseline["model"] == "CRF (sklearn-crfsuite)" and baseline["test"]["f1"] > 0.5
    assert "entity F1" in baseline["verdict"]["sentence"]
    report = (run / "report.md").read_text()
    for section in ("## Per type", "## Most confused tags", "## Sample sentences", "CRF F1",
                    baseline["verdict"]["sentence"]):
        assert section in report
    from transformers import AutoModelForTokenClassification  # plain transformers loads it

    model = AutoModelForTokenClassification.from_pretrained(str(run / "model"))
    assert model.config.id2label[0] == "O"


def test_evaluate_and_predict_through_the_api_and_cli(ner_run: Any, tmp_path: Path,
                                                      capsys: Any) -> None:
    import lmforge

    run = ner_run.run_dir
    data = write_jsonl(tmp_path / "more.jsonl", ner_sentences(12, seed=5))
    scores = lmforge.evaluate(run, data)
    assert scores["sentences"] == 12 and "f1" in scores and scores["samples"]
    assert main(["-q", "evaluate", str(run), "--data", str(data)]) == 0
    assert "entity precision" in capsys.readouterr().out

    tagger = lmforge.load(run)
    long_sentence = [w for s in ner_sentences(6, seed=9) for w, _ in s]  # over 16 sub-words
    tags = tagger.tag([long_sentence, ["Mary", "left"]])
    assert [len(t) for t in tags] == [len(long_sentence), 2]
    assert all(t in tagger.classes_ for t in tags[0])

    text = "John Smith visited Paris today ."
    rows = lmforge.predict(run, [text])
    assert rows[0]["tokens"] == text.split() and len(rows[0]["tags"]) == 6
    for entity in rows[0]["entities"]:
        assert text[entity["start"]:entity["end"]] == entity["text"]

    texts = tmp_path / "texts.txt"
    texts.write_text(text + "\nMary joined Globex .\n", encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    assert main(["-q", "predict", str(run), "--data", str(texts), "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["text"] for line in lines] == [text, "Mary joined Globex ."]
    assert main(["-q", "predict", str(run), "--data", str(data), "--format", "conll"]) == 0
    conll = capsys.readouterr().out
    first_sentence = conll.split("\n\n")[0].split("\n")
    assert [line.split("\t")[0] for line in first_sentence] == [
        w for w, _ in ner_sentences(12, seed=5)[0]]
    assert conll.count("\n\n") == 12
    assert main(["-q", "predict", str(run), "--data", str(texts), "--format", "csv"]) == 2


def test_export_onnx_matches_pytorch_and_loads_as_a_tagger(ner_run: Any, tmp_path: Path) -> None:
    import lmforge

    out = tmp_path / "onnx"
    assert main(["-q", "export", str(ner_run.run_dir), "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["export"]["parity"]["fp32"]["max_abs_diff"] < 1e-4
    onnx, torch_run = lmforge.load(out), lmforge.load(ner_run.run_dir)
    assert onnx.backend == "onnx"
    sentences = [[w for w, _ in s] for s in ner_sentences(8, seed=3)]
    assert onnx.tag(sentences) == torch_run.tag(sentences)


def test_serve_returns_entities_with_offsets(ner_run: Any) -> None:
    from lmforge.serve.app import create_app
    from tests.serve.conftest import serve_app

    client = serve_app(create_app([ner_run.run_dir]))
    try:
        text = "Mary joined Globex today ."
        body = client.post("/v1/predict", json={"texts": [text]}).json()
        assert body["task"] == "tokens"
        prediction = body["predictions"][0]
        assert prediction["tokens"] == text.split() and len(prediction["tags"]) == 5
        for entity in prediction["entities"]:
            assert text[entity["start"]:entity["end"]] == entity["text"]
        # a token run is explained per entity (tests/explain/test_tokens.py checks the scores)
        explained = client.post("/v1/explain", json={"texts": [text]})
        assert explained.status_code == 200, explained.text
        assert explained.json()["task"] == "tokens"
        explanations = explained.json()["explanations"]
        assert [" ".join(e["words"][e["start"]:e["end"]]) for e in explanations] == [
            entity["text"] for entity in prediction["entities"]]
        from lmforge.serve.client import _row  # `predict --server` rows of a token run

        assert _row(text, prediction, "tokens", [])["entities"] == prediction["entities"]
        assert "markTokens" in client.get("/").text
    finally:
        client.__exit__(None, None, None)


def test_character_level_chinese_predicts_character_offsets(tmp_path: Path,
                                                           tiny_model_dir: Path,
                                                           caplog: Any) -> None:
    """Also: no --task given, the .conll file is detected as token classification."""
    import logging

    import lmforge

    data = write_conll(tmp_path / "zh.conll", zh_sentences(30))
    with session_rng_kept(), caplog.at_level(logging.INFO, logger="lmforge"):
        run = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                            epochs=1, baseline=False, **TINY).run_dir
    assert "a .conll file (CoNLL: token<TAB>tag lines): token classification" in caplog.text
    assert "task: tokens" in (run / "config.yaml").read_text(encoding="utf-8")
    assert json.loads((run / "tokens.json").read_text())["unit"] == "char"
    row = lmforge.predict(run, ["张伟 去北京了。"])[0]
    assert row["tokens"] == list("张伟去北京了。") and row["spans"][2] == [3, 4]


def test_plain_tags_label_every_piece_through_pytorch_onnx_and_old_runs(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    """--label-pieces all on part-of-speech tags labels every sub-word (run_ner's
    label_all_tokens) and reads the mean; the loaded run, its ONNX export and a run dir from
    before "pieces" (read as first) all follow tokens.json. auto resolves to first."""
    import lmforge
    from lmforge.errors import RunDirError

    sentences = [[("unbelievably", "ADV")] + s for s in pos_sentences(40)]
    data = write_conll(tmp_path / "pos.conll", sentences)
    with session_rng_kept():
        run = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                            task="tokens", epochs=1, baseline=False, label_pieces="all",
                            **TINY).run_dir
    meta = json.loads((run / "tokens.json").read_text())
    assert meta["scheme"] == "tags" and meta["pieces"] == "all"
    assert "label_pieces: all" in (run / "config.yaml").read_text(encoding="utf-8")
    tagger = lmforge.load(run)
    words = [[w for w, _ in s] for s in pos_sentences(6, seed=4)]
    words[0].insert(0, "unbelievably")  # several sub-words: read from their mean
    assert tagger.pieces == "all"
    out = tmp_path / "onnx"
    assert main(["-q", "export", str(run), "--out", str(out)]) == 0
    onnx = lmforge.load(out)
    assert onnx.backend == "onnx" and onnx.pieces == "all"
    assert np.allclose(np.concatenate(onnx.token_logits(words)),
                       np.concatenate(tagger.token_logits(words)), atol=1e-4)
    import dataclasses

    first = dataclasses.replace(tagger, pieces="first").token_logits(words)[0]
    assert not np.allclose(first[0], tagger.token_logits(words)[0][0])  # mean != first piece
    meta.pop("pieces")  # a run written before label_pieces: first sub-word only
    (run / "tokens.json").write_text(json.dumps(meta), encoding="utf-8")
    assert lmforge.load(run).pieces == "first"
    (run / "tokens.json").write_text(json.dumps({**meta, "pieces": "last"}), encoding="utf-8")
    with pytest.raises(RunDirError, match='"pieces" must be one of'):
        lmforge.load(run)


def test_chinese_words_get_segment_ids_through_pytorch_onnx_and_old_runs(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    """--word-segments yes on word-level Chinese: the words' boundaries go in as alternating
    segment ids, recorded in tokens.json; the ONNX graph takes them (same logits); a run dir
    from before "segments" reads without them; auto gives none; a model with one segment
    type is refused by field name before training."""
    import dataclasses

    import lmforge
    from lmforge.errors import RunDirError

    data = write_conll(tmp_path / "zh_pos.conll", zh_pos_sentences(40))
    with session_rng_kept():
        run = lmforge.train(data=str(data), out=str(tmp_path / "run"), model=str(tiny_model_dir),
                            task="tokens", epochs=1, baseline=False, word_segments="yes",
                            **TINY).run_dir
    meta = json.loads((run / "tokens.json").read_text())
    assert meta["unit"] == "word" and meta["segments"] is True
    assert "word_segments: 'yes'" in (run / "config.yaml").read_text(encoding="utf-8")
    tagger = lmforge.load(run)
    words = [[w for w, _ in s] for s in zh_pos_sentences(6, seed=3)]
    assert tagger.segments
    with_segments = np.concatenate(tagger.token_logits(words))
    without = np.concatenate(dataclasses.replace(tagger, segments=False).token_logits(words))
    assert not np.allclose(with_segments, without)  # the segment ids reach the model
    out = tmp_path / "onnx"
    assert main(["-q", "export", str(run), "--out", str(out)]) == 0
    onnx = lmforge.load(out)
    assert onnx.backend == "onnx" and onnx.segments
    assert np.allclose(np.concatenate(onnx.token_logits(words)), with_segments, atol=1e-4)
    meta.pop("segments")  # a run written before word_segments
    (run / "tokens.json").write_text(json.dumps(meta), encoding="utf-8")
    assert lmforge.load(run).segments is False
    (run / "tokens.json").write_text(json.dumps({**meta, "segments": "yes"}), encoding="utf-8")
    with pytest.raises(RunDirError, match='"segments" must be true or false'):
        lmforge.load(run)
    with session_rng_kept():
        plain = lmforge.train(data=str(data), out=str(tmp_path / "auto"),
                              model=str(tiny_model_dir), task="tokens", epochs=1, baseline=False,
                              **TINY).run_dir
    assert json.loads((plain / "tokens.json").read_text())["segments"] is False
    from transformers import BertConfig

    from lmforge.errors import ConfigError

    one_type = tmp_path / "one-type"
    shutil.copytree(tiny_model_dir, one_type)
    config = BertConfig.from_pretrained(str(one_type))
    config.type_vocab_size = 1
    config.save_pretrained(str(one_type))
    with pytest.raises(ConfigError, match="word_segments: the model .* has 1 segment type"):
        lmforge.train(data=str(data), out=str(tmp_path / "refused"), model=str(one_type),
                      task="tokens", word_segments="yes", **TINY)
    assert not (tmp_path / "refused").exists()


def test_label_pieces_is_refused_outside_token_runs(tmp_path: Path, tiny_model_dir: Path,
                                                   capsys: Any) -> None:
    import lmforge
    from lmforge.errors import ConfigError

    with pytest.raises(ConfigError, match="label_pieces: only token classification"):
        lmforge.train(data="x.csv", out=str(tmp_path / "a"), task="single", label_pieces="all")
    texts = tmp_path / "texts.csv"
    texts.write_text("text,label\n" + "good film,pos\nbad film,neg\n" * 10, encoding="utf-8")
    code = main(["-q", "train", "--data", str(texts), "--out", str(tmp_path / "b"), "--model",
                 str(tiny_model_dir), "--label-pieces", "first"])
    assert code == 2 and "is not token data" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
    with pytest.raises(ConfigError, match="word_segments: only token classification"):
        lmforge.train(data="x.csv", out=str(tmp_path / "c"), task="single", word_segments="yes")


@pytest.fixture
def no_leftovers(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    assert not list(tmp_path.glob(".run*")), "a temp run dir was left behind"


@pytest.mark.parametrize(("content", "message"), [
    ("John\tB-PER\nSmith\n", "line 2: expected 'token<TAB>tag'"),
    ("a\tS-PER\n", "line 1: unknown tag scheme"),
    ('{"tokens": ["a"], "tags": ["O"]}\n{"tokens": [], "tags": []}\n',
     "line 2: a sentence with no tokens"),
    ('{"tokens": ["a"], "tags": ["O"]}\na\tO\n', "line 2: not valid JSON"),
])
def test_bad_token_files_exit_2_and_leave_no_run(no_leftovers: Path, tiny_model_dir: Path,
                                                 capsys: Any, content: str, message: str) -> None:
    data = no_leftovers / "bad.conll"
    data.write_text(content, encoding="utf-8")
    code = main(["-q", "train", "--task", "tokens", "--data", str(data), "--out",
                 str(no_leftovers / "run"), "--model", str(tiny_model_dir)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (no_leftovers / "run").exists()
