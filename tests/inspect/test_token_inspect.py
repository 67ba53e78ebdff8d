"""`lmforge inspect --task tokens` on crafted CoNLL/JSONL files: each planted problem found
at its file line, the JSON keys, the terminal and inspect.md, and train's quick checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lmforge.cli import main
from lmforge.data.conll import Sentence
from lmforge.errors import ConfigError
from lmforge.inspect.run import inspect_data
from lmforge.inspect.token_checks import token_train_warnings
from tests.token_data import ner_sentences, write_conll

URL = "http://example.com/" + "a/" * 25  # one token of ~55 sub-words: over a 32 window
PLANTED = {
    "no_begin": [("Mary", "B-PER"), ("visited", "O"), ("New", "I-LOC"), ("York", "I-LOC"),
                 (".", "O")],                                       # I- after O: token 2
    "switch": [("Ann", "B-PER"), ("Lee", "I-LOC"), ("left", "O"), (".", "O")],  # token 1
    "long": [("word", "O")] * 40 + [("Globex", "B-ORG")],          # 43 sub-words
    "rare": [("Zorg", "B-MISC"), ("smiled", "O"), ("🙂", "O")],     # MISC once; 🙂 is [UNK]
    "conflict_a": [("Paris", "B-LOC"), ("rocks", "O")],
    "conflict_b": [("Paris", "B-ORG"), ("rocks", "O")],
    "url": [("see", "O"), (URL, "O")],
}


def starts(sentences: list[list[tuple[str, str]]]) -> list[int]:
    """The file line where each sentence starts (one line per token, a blank line after)."""
    out, line = [], 1
    for s in sentences:
        out.append(line)
        line += len(s) + 1
    return out


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("inspect-tokens")
    clean = ner_sentences(30, seed=1)
    unique = list({tuple(s): s for s in clean}.values())  # no accidental copies
    sentences = [*unique, *PLANTED.values(), unique[3]]   # the last: a copy of #3
    line = dict(zip(["clean", *PLANTED, "copy"], [0, *starts(sentences)[len(unique):]],
                    strict=True))
    data = write_conll(tmp / "data.conll", sentences)
    test_sentences = [unique[5], [("Tokyo", "B-LOC"), ("is", "O"), ("big", "O")],
                      [("Quux", "B-EVT")]]
    test = write_conll(tmp / "test.conll", test_sentences)
    result = inspect_data(data=str(data), test=str(test), task="tokens", max_length=32,
                          model=str(tiny_model_dir))
    return {"report": result.report, "lengths": result.lengths, "line": line, "tmp": tmp,
            "data": data, "test": test, "starts": starts(sentences), "unique": unique,
            "model": tiny_model_dir, "test_starts": starts(test_sentences)}


def finding(report: dict[str, Any], check: str) -> dict[str, Any]:
    found = [f for f in report["findings"] if f["check"] == check]
    assert found, f"no {check} finding in {[f['check'] for f in report['findings']]}"
    return found[0]


def lines_of(f: dict[str, Any]) -> list[int]:
    return [e["row"] for e in f["examples"]]


def test_bio_errors_name_the_token_lines_and_their_kind(crafted: dict[str, Any]) -> None:
    report, line = crafted["report"], crafted["line"]
    f = finding(report, "bio_errors")
    assert f["count"] == 2 and f["severity"] == "warning"
    assert lines_of(f) == [line["no_begin"] + 2, line["switch"] + 1]
    assert [e["kind"] for e in f["examples"]] == ["I- without B-", "type switch"]
    assert [e["label"] for e in f["examples"]] == ["I-LOC -> B-LOC", "I-LOC -> B-LOC"]
    assert f["examples"][1]["after"] == "B-PER" and "[Lee]" in f["examples"][1]["text"]
    assert report["bio_errors"] == {"total": 2, "I- without B-": 1, "type switch": 1}
    # counted after the repair, as train sees them: 'New York' is one LOC, 'Lee' a LOC of its own
    assert report["entity_counts"]["MISC"] == 1
    assert report["tag_counts"]["B-MISC"] == 1 and "I-MISC" not in report["tag_counts"]


def test_duplicates_conflicts_and_leakage_with_their_lines(crafted: dict[str, Any]) -> None:
    report, line, first = crafted["report"], crafted["line"], crafted["starts"]
    dup = finding(report, "duplicate_sentences")
    assert dup["count"] == 1 and lines_of(dup) == [first[3], line["copy"]]
    conflict = finding(report, "conflicting_tags")
    assert lines_of(conflict) == [line["conflict_a"], line["conflict_b"]]
    assert {e["label"] for e in conflict["examples"]} == {"Paris/B-LOC", "Paris/B-ORG"}
    leak = finding(report, "leakage")
    assert leak["count"] == 1
    assert leak["examples"][0]["row"] == 1 and leak["examples"][0]["data_row"] == first[5]
    unseen = finding(report, "unseen_tags")
    assert unseen["examples"][0]["label"] == "B-EVT"
    assert unseen["examples"][0]["row"] == crafted["test_starts"][2]


def test_lengths_windows_cut_tokens_unknown_and_rare_tags(crafted: dict[str, Any]) -> None:
    report, line = crafted["report"], crafted["line"]
    long = finding(report, "long_sentences")
    assert line["long"] in lines_of(long) and line["url"] in lines_of(long)
    shown = {e["row"]: e for e in long["examples"]}
    assert shown[line["long"]]["words"] == 41 and shown[line["long"]]["windows"] == 2
    assert "never cut" in long["summary"]
    cut = finding(report, "tokens_over_a_window")
    assert lines_of(cut) == [line["url"] + 1] and cut["examples"][0]["subwords"] > 30
    unknown = finding(report, "unknown_tokens")
    assert unknown["examples"][0]["token"] == "🙂"
    assert unknown["examples"][0]["row"] == line["rare"] + 2
    rare = finding(report, "rare_tags")
    assert {e["label"] for e in rare["examples"]} >= {"B-MISC"}
    assert next(e for e in rare["examples"] if e["label"] == "B-MISC")["row"] == line["rare"]
    length = report["length"]
    assert length["over_max_length"] == 2 and length["max_length"] == 32
    assert length["max"] == max(crafted["lengths"]) and length["tokens_over_a_window"] == 1
    assert report["words_per_sentence"]["max"] == 41
    assert 0 < report["unknown_tokens"]["share_of_tokens"] < 0.01


def test_cli_summary_markdown_and_json_keys(crafted: dict[str, Any],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out_dir, js = crafted["tmp"] / "out", crafted["tmp"] / "report.json"
    code = main(["inspect", "--data", str(crafted["data"]), "--test", str(crafted["test"]),
                 "--model", str(crafted["model"]), "--max-length", "32", "--out", str(out_dir),
                 "--json", str(js)])  # --task auto: a .conll file is detected
    out = capsys.readouterr().out
    assert code == 0
    assert "detected: a .conll file" in out and "train it with --task tokens" in out
    assert f"line {crafted['line']['switch'] + 1} [I-LOC -> B-LOC]: 'Ann [Lee] left .'" in out
    assert "entities: PER" in out and "BIO errors train would repair: 2" in out
    report = json.loads(js.read_text(encoding="utf-8"))
    assert {"kind", "format", "scheme", "unit", "sentences", "tokens", "tag_counts",
            "entity_counts", "bio_errors", "words_per_sentence", "length", "unknown_tokens",
            "test_sentences", "findings"} <= set(report)
    assert report["kind"] == "tokens" and report["scheme"] == "bio" and report["format"] == "conll"
    md = (out_dir / "inspect.md").read_text(encoding="utf-8")
    assert "| line | after | kind | label | text |" in md and "## Entities" in md
    assert (out_dir / "tag_counts.png").is_file() and (out_dir / "length_histogram.png").is_file()


def test_jsonl_empty_sentences_are_all_listed(tmp_path: Path) -> None:
    path = tmp_path / "pos.jsonl"
    rows = [{"tokens": ["the", "cat", "sat"], "tags": ["DET", "NOUN", "VERB"]},
            {"tokens": [], "tags": []}, {"tokens": ["a", "dog"], "tags": ["DET", "NOUN"]},
            {"text": "", "tags": []}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = inspect_data(data=str(path)).report  # detected; the encoder train would pick
    assert report["scheme"] == "tags" and "entity_counts" not in report
    assert report["model"]["name"] == "all-MiniLM-L6-v2" and report["task"].startswith(
        "tokens (detected: JSONL")
    empty = finding(report, "empty_sentences")
    assert empty["count"] == 2 and lines_of(empty) == [2, 4]
    assert finding(report, "too_few_sentences")["count"] == 2
    assert report["tag_counts"] == {"DET": 2, "NOUN": 2, "VERB": 1}


def test_token_options_that_do_not_apply_are_refused(tmp_path: Path) -> None:
    data = write_conll(tmp_path / "a.conll", ner_sentences(3))
    with pytest.raises(ConfigError, match="text_col: not for --task tokens"):
        inspect_data(data=str(data), task="tokens", text_col="text")
    with pytest.raises(ConfigError, match="tfidf classifies whole texts"):
        inspect_data(data=str(data), model="tfidf")


def test_train_warnings_from_the_numbers_train_has() -> None:
    def sentence(*pairs: str) -> Sentence:
        return Sentence([p.split("/")[0] for p in pairs], [p.split("/")[1] for p in pairs], 1)

    shared = sentence("Mary/B-PER", "left/O")
    parts = {"train": [shared, sentence("Zorg/B-MISC", "ran/O")] + [shared] * 5,
             "validation": [], "test": [shared, sentence("Quux/B-EVT")]}
    data = {"scheme": "bio", "unit": "word", "bio_repaired": 2,
            "bio_repair_kinds": {"I- without B-": 1, "type switch": 1}}
    encoding = {"train": {"windowed": 6, "tokens_cut": 3, "tokens": 14, "unknown_tokens": 2}}
    warnings = token_train_warnings(data, parts, encoding, 32, "ner.conll")
    text = "\n".join(warnings)
    assert "2 BIO tags repaired to B- (1 I- tag without a B-, 1 type switch)" in text
    assert "`lmforge inspect --data ner.conll --task tokens`" in text
    assert "'B-MISC' (1)" in text and "test: 1 token with tags never seen" in text
    assert "leakage: 1 sentence of the test split also in the train split" in text
    assert "3 training tokens have more sub-words" in text
    assert "6 of 7 training sentences are longer" in text and "2 of 14 training tokens" in text
    iob1 = {**data, "bio_repair_kinds": {"I- without B-": 9, "type switch": 0}}
    assert not any("repaired" in w for w in token_train_warnings(iob1, parts, {}, 32, "x"))
    clean = {"train": [sentence(f"w{i}/B-PER", "x/O") for i in range(6)], "test": []}
    assert token_train_warnings({"scheme": "bio"}, clean, {"train": {"tokens": 12}}, 32,
                                "x") == []
