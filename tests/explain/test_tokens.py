"""`lmforge explain` on token runs (tiny random-init encoders trained for seconds): occlusion per
predicted entity or per --word, the plain sentence, --html/--json, and the errors. The NER run
is trained on data with planted problems, so it also shows train's quick checks."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmforge.cli import main
from lmforge.errors import ConfigError
from tests.helpers import session_rng_kept
from tests.token_data import ner_sentences, pos_sentences, write_conll

TINY = {"show_progress": False, "batch_size": 8, "eval_batch_size": 16, "lr": 5e-3,
        "max_length": 32, "baseline": False}
TEXT = "John Smith visited Paris today ."


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Any:
    """60 BIO sentences, 3 epochs: enough for the model to find PER and LOC in TEXT. Planted:
    one MISC entity (a rare tag) and a training sentence also in the test file (leakage)."""
    import lmforge

    root = tmp_path_factory.mktemp("token-explain")
    shared = [("Mary", "B-PER"), ("left", "O"), ("Tokyo", "B-LOC"), (".", "O")]
    data = write_conll(root / "ner.conll",
                       [*ner_sentences(60), [("Zorg", "B-MISC"), ("left", "O")], shared])
    test = write_conll(root / "test.conll", [*ner_sentences(8, seed=7), shared])
    with session_rng_kept():
        return lmforge.train(data=str(data), test=str(test), out=str(root / "run"),
                             model=str(tiny_model_dir), task="tokens", epochs=3, **TINY)


@pytest.fixture(scope="module")
def pos_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    import lmforge

    root = tmp_path_factory.mktemp("token-explain-pos")
    data = write_conll(root / "pos.conll", pos_sentences(20))
    with session_rng_kept():
        return lmforge.train(data=str(data), out=str(root / "run"), model=str(tiny_model_dir),
                             task="tokens", epochs=1, **TINY).run_dir


def probability_with_masked(tagger: Any, words: list[str], masked: int | None, start: int,
                            end: int, tags: list[str]) -> float:
    """The mean probability of ``tags`` at words [start, end) with word ``masked`` replaced by
    the mask token, computed here from the tagger's logits."""
    import numpy as np

    sentence = [tagger.tokenizer.mask_token if j == masked else w for j, w in enumerate(words)]
    logits = tagger.token_logits([sentence])[0]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return float(np.mean([probs[k, tagger.labels.index(tags[k - start])]
                          for k in range(start, end)]))


def test_each_entity_is_explained_by_masking_the_other_words(ner_run: Any) -> None:
    import lmforge
    from lmforge.explain import TokenExplanation, explain

    tagger = lmforge.load(ner_run.run_dir)
    found = explain(tagger, [TEXT])
    predicted = lmforge.predict(ner_run.run_dir, [TEXT])[0]["entities"]
    assert found and all(isinstance(e, TokenExplanation) for e in found)
    assert [(e.phrase, e.target) for e in found] == [(p["text"], p["type"]) for p in predicted]
    words = TEXT.split()
    for e in found:
        assert e.words == words and e.entity and e.mask_token == "[MASK]"
        assert all(TEXT[a:b] == w for (a, b), w in zip(e.spans, e.words, strict=True))
        inside = range(e.start, e.end)
        assert [s is None for s in e.scores] == [j in inside for j in range(len(words))]
        assert e.probability == pytest.approx(probability_with_masked(
            tagger, words, None, e.start, e.end, e.target_tags), abs=1e-5)
        # each score is the drop when that word is masked, recomputed here word by word
        context = [j for j in range(len(words)) if j not in inside]
        for j in context:
            again = probability_with_masked(tagger, words, j, e.start, e.end, e.target_tags)
            assert e.scores[j] == pytest.approx(e.probability - again, abs=1e-5)
        assert len({round(e.scores[j], 7) for j in context}) > 1  # computed, not constant
        assert any(abs(e.scores[j]) > 1e-6 for j in context)
        top = [w for w, _ in [(e.words[i], s) for i, s in e.context()]]
        assert set(top) <= set(words) - set(e.phrase.split())


def test_cli_prints_plain_sentences_and_writes_html_and_json(ner_run: Any, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    html, js = tmp_path / "why.html", tmp_path / "why.json"
    assert main(["explain", str(ner_run.run_dir), "--text", TEXT, "--html", str(html),
                 "--json", str(js)]) == 0
    out = capsys.readouterr().out
    records = json.loads(js.read_text(encoding="utf-8"))
    first = records[0]
    kind = {"PER": "a person", "LOC": "a place", "ORG": "an organisation"}[first["target"]]
    assert f"text #1, entity 1 of {len(records)}: '{first['phrase']}' is {kind} " \
           f"({first['target']}, {first['probability']:.2f})" in out
    assert "mostly because of: '" in out or "no other word adds" in out
    assert f"[{first['phrase']}]{first['target']}" in out  # the entity bracketed in the text
    assert "details: occlusion: each other word replaced by [MASK]" in out
    assert set(first) >= {"words", "spans", "tags", "start", "end", "target", "target_tags",
                          "probability", "scores", "phrase", "mask_token", "method"}
    page = html.read_text(encoding="utf-8")
    assert page.count("<h3>") == len(records) and 'class="ent"' in page
    assert f"<sub>{first['target']}</sub></span>" in page and 'class="tagged"' in page


def test_word_explains_one_tag_and_is_required_for_plain_tags(
        pos_run: Path, ner_run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from lmforge.explain import explain

    assert main(["explain", str(pos_run), "--text", "the cat saw home ."]) == 2
    err = capsys.readouterr().err
    assert "this run tags every word with plain tags" in err
    assert "pick the word with --word N (counted from 0)" in err and "1 'cat'" in err
    assert main(["explain", str(pos_run), "--text", "the cat saw home .", "--word", "1"]) == 0
    out = capsys.readouterr().out
    assert "text #1: 'cat' is tagged " in out
    (e,) = explain(pos_run, ["the cat saw home ."], word=1)
    assert (e.start, e.end, e.entity, e.scheme) == (1, 2, False, "tags")
    assert e.scores[1] is None and all(s is not None for i, s in enumerate(e.scores) if i != 1)
    with pytest.raises(ConfigError, match=r"text #1 has 5 words, numbered 0 to 4; --word 7"):
        explain(pos_run, ["the cat saw home ."], word=7)
    with pytest.raises(ConfigError, match="a token run is explained by occlusion"):
        explain(ner_run.run_dir, [TEXT], method="ig")
    (o,) = explain(ner_run.run_dir, [TEXT], word=2)  # a BIO run takes --word too: 'visited'
    assert o.phrase == "visited" and not o.entity


def test_word_on_a_text_classifier_is_refused(tfidf_run: Path) -> None:
    from lmforge.explain import explain

    with pytest.raises(ConfigError, match="--word picks one word of a token run"):
        explain(tfidf_run, ["a fine film"], word=0)


def test_train_ran_the_quick_checks_before_fitting(ner_run: Any) -> None:
    warnings = ner_run.metrics["data"]["warnings"]
    assert any("'B-MISC' (1)" in w for w in warnings)
    assert any(w.startswith("leakage: ") and "of the test split" in w for w in warnings)
    report = (ner_run.run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Warnings" in report and "'B-MISC' (1)" in report


def test_plain_sentence_names_the_type_and_the_context_words() -> None:
    from lmforge.explain.render import format_token_terminal, token_sentence
    from lmforge.explain.tokens import TokenExplanation

    text = "the city of Beijing"
    e = TokenExplanation(index=0, text=text, words=text.split(),
                         spans=[(0, 3), (4, 8), (9, 11), (12, 19)],
                         tags=["O", "O", "O", "B-LOC"], start=3, end=4, target="LOC",
                         target_tags=["B-LOC"], probability=0.97, scores=[0.001, 0.08, 0.21, None],
                         entity=True, mask_token="[MASK]")
    assert token_sentence(e) == ("'Beijing' is a place (LOC, 0.97) mostly because of: 'of' "
                                 "+0.21, 'city' +0.08")
    e.scores = [-0.04, 0.0, 0.001, None]
    assert token_sentence(e) == ("'Beijing' is a place (LOC, 0.97), from the entity's own words: "
                                 "no other word adds 0.005 or more; held back by: 'the' -0.04")
    plain = format_token_terminal(e, color=False).splitlines()[1]
    assert plain == "the[-0.04] city of [Beijing]LOC"


def test_the_service_explains_entities_and_a_picked_word(ner_run: Any, pos_run: Path) -> None:
    """POST /v1/explain on token runs: the same explanations as the library (each entity, or
    'word'), the plain-tag run without 'word' and 'ig' refused with 422."""
    import lmforge
    from lmforge.explain import explain

    with served(ner_run.run_dir) as client:
        r = client.post("/v1/explain", json={"texts": [TEXT]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["task"] == "tokens"
        expected = explain(lmforge.load(ner_run.run_dir), [TEXT])
        got = body["explanations"]
        assert got and [(e["target"], e["start"], e["end"]) for e in got] == [
            (e.target, e.start, e.end) for e in expected]
        for answer, e in zip(got, expected, strict=True):
            assert answer["entity"] is True and answer["words"] == TEXT.split()
            assert answer["scores"] == pytest.approx(e.scores, abs=1e-5)
            assert answer["probability"] == pytest.approx(e.probability, abs=1e-5)
        r = client.post("/v1/explain", json={"texts": [TEXT], "word": 3})
        assert r.status_code == 200, r.text
        (one,) = r.json()["explanations"]
        assert (one["start"], one["end"], one["entity"]) == (3, 4, False)
        assert one["scores"][3] is None and sum(s is None for s in one["scores"]) == 1
        assert client.post("/v1/explain", json={"texts": [TEXT], "method": "ig"}).status_code == 422
        spec = client.get("/openapi.json").json()["paths"]["/v1/explain"]["post"]
        assert "word" in spec["requestBody"]["content"]["application/json"]["schema"]["properties"]
    with served(pos_run) as client:
        r = client.post("/v1/explain", json={"texts": ["the cat sat"]})
        assert r.status_code == 422 and "word" in r.json()["error"]["message"]
        assert client.post("/v1/explain", json={"texts": ["the cat sat"], "word": 1}).status_code == 200


@contextlib.contextmanager
def served(run_dir: Any) -> Iterator[Any]:
    from lmforge.serve.app import create_app
    from lmforge.serve.config import ServeConfig
    from tests.serve.conftest import serve_app

    client = serve_app(create_app([Path(run_dir)], ServeConfig()), raise_server_exceptions=False)
    try:
        yield client
    finally:
        client.__exit__(None, None, None)
