"""`lmforge inspect` on crafted data: each finding with its rows, the files it writes, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lmforge.cli import main
from lmforge.data.scripts import main_script, script_of
from lmforge.errors import ConfigError, DataError
from lmforge.inspect.checks import normalize_for_near_duplicates, train_warnings
from lmforge.inspect.run import inspect_data
from tests.conftest import sentiment_rows, write_csv

LONG = " ".join(["the plot was really quite long and the acting was fine"] * 6)


def crafted_rows() -> list[tuple[str, str]]:
    """CSV rows (file row = index + 2): every kind of problem, on top of clean data."""
    rows = [(t, y) for t, y in sentiment_rows(60)]  # rows 2..61, balanced pos/neg
    rows += [
        ("A wonderful film, truly.", "pos"),        # 62  exact duplicate of 63
        ("A wonderful film, truly.", "pos"),        # 63
        ("the worst plot ever", "pos"),             # 64  conflict with 65
        ("the worst plot ever", "neg"),             # 65
        ("Great acting!!!", "pos"),                 # 66  near-duplicate of 67
        ("great   acting", "pos"),                  # 67
        ("", "neg"),                                # 68  empty text
        ("a film with no label", ""),               # 69  missing label
        ("https://example.com/review/123", "pos"),  # 70  URL only
        ("12345", "neg"),                           # 71  numbers only
        ("ok", "pos"),                              # 72  very short
        ("Фильм был просто ужасен", "neg"),         # 73  Cyrillic
        ("这个电影非常好看，演员很棒", "pos"),        # 74  Han, mostly unknown tokens
        (LONG, "neg"),                              # 75  long
        ("a rare one", "meh"),                      # 76  a class with one example
    ]
    return rows


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("inspect")
    data = write_csv(tmp / "data.csv", crafted_rows())
    test = write_csv(tmp / "test.csv", [("A wonderful film, truly.", "pos"),  # row 2: identical
                                        ("GREAT ACTING", "pos"),              # row 3: near
                                        ("something new entirely", "neg")])
    result = inspect_data(data=str(data), test=str(test), max_length=32)
    return {"report": result.report, "lengths": result.lengths, "data": data, "test": test,
            "tmp": tmp}


def finding(report: dict[str, Any], check: str) -> dict[str, Any]:
    found = [f for f in report["findings"] if f["check"] == check]
    assert found, f"no {check} finding in {[f['check'] for f in report['findings']]}"
    return found[0]


def rows_of(f: dict[str, Any]) -> list[int]:
    return [e["row"] for e in f["examples"]]


def test_duplicates_conflicts_and_near_duplicates(crafted: dict[str, Any]) -> None:
    report = crafted["report"]
    dup = finding(report, "exact_duplicates")
    assert dup["count"] == 1 and rows_of(dup) == [62, 63]
    conflict = finding(report, "conflicting_labels")
    assert conflict["count"] == 2 and rows_of(conflict) == [64, 65]
    assert {e["label"] for e in conflict["examples"]} == {"pos", "neg"}
    assert "drops all of them" in conflict["summary"]
    near = finding(report, "near_duplicates")
    assert rows_of(near) == [66, 67] and near["count"] == 1
    assert "Keep one text per group" in near["suggestion"]


def test_empty_missing_and_suspicious_rows(crafted: dict[str, Any]) -> None:
    report = crafted["report"]
    assert rows_of(finding(report, "empty_text")) == [68]
    assert rows_of(finding(report, "missing_label")) == [69]
    suspicious = finding(report, "suspicious_text")
    whys = {e["row"]: e["why"] for e in suspicious["examples"]}
    assert whys == {70: "URL only", 71: "numbers only", 72: "under 3 characters"}
    assert suspicious["count"] == 3


def test_class_balance_names_the_rare_class(crafted: dict[str, Any]) -> None:
    report = crafted["report"]
    balance = finding(report, "class_balance")
    assert "'meh' (1)" in balance["summary"] and rows_of(balance) == [76]
    assert "macro-F1" in balance["suggestion"]
    assert report["class_counts"]["meh"] == 1 and set(report["class_counts"]) == {"meh", "neg", "pos"}


def test_leakage_between_files(crafted: dict[str, Any]) -> None:
    leak = finding(crafted["report"], "leakage")
    assert leak["count"] == 2 and "1 texts of" in leak["summary"]
    pairs = {(e["kind"], e["row"], e["data_row"]) for e in leak["examples"]}
    assert pairs == {("identical", 2, 62), ("near-duplicate", 3, 66)}


def test_lengths_unknown_tokens_and_scripts(crafted: dict[str, Any]) -> None:
    report = crafted["report"]
    length = report["length"]
    assert length["tokenizer"] == "all-MiniLM-L6-v2" and length["max_length"] == 32
    assert length["over_max_length"] == 1 and length["max"] > 60
    over = finding(report, "over_max_length")
    assert rows_of(over) == [75] and over["examples"][0]["tokens"] == length["max"]
    unknown = finding(report, "unknown_tokens")
    assert rows_of(unknown)[0] == 74 and unknown["examples"][0]["unknown_share"] > 0.5
    assert unknown["suggestion"].startswith("Use a model pre-trained on this language: "
                                            "`--model multilingual-e5-small` reads about 100")
    assert report["model"] == {"name": "all-MiniLM-L6-v2", "reason": "--model default: 0% of "
                               "the letters are Chinese/Japanese/Korean (under 30%)"}
    scripts = finding(report, "mixed_scripts")
    assert {e["row"]: e["script"] for e in scripts["examples"]} == {73: "Cyrillic", 74: "Han"}
    assert report["scripts"]["Latin"] > 60 and report["scripts"]["Cyrillic"] == 1
    assert "spreadsheet: the header is row 1" in report["row_numbers"]


def test_cli_writes_summary_markdown_pngs_and_json(crafted: dict[str, Any],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out, js = crafted["tmp"] / "out", crafted["tmp"] / "inspect.json"
    assert main(["-q", "inspect", "--data", str(crafted["data"]), "--test", str(crafted["test"]),
                 "--max-length", "32", "--out", str(out), "--json", str(js)]) == 0
    text = capsys.readouterr().out
    assert "[warning] conflicting_labels" in text and "row 64 [pos]" in text
    assert f"wrote {out / 'inspect.md'}" in text
    for name in ("inspect.md", "length_histogram.png", "class_balance.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "length_histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "inspect.md").read_text(encoding="utf-8")
    assert "### conflicting labels (warning)" in md and "| 64 |" in md
    assert "![length histogram](length_histogram.png)" in md and "**What to do:**" in md
    saved = json.loads(js.read_text(encoding="utf-8"))
    assert set(saved) >= {"data", "test", "rows", "row_numbers", "columns", "task", "labels",
                          "class_counts", "length", "unknown_tokens", "scripts", "findings"}
    assert saved["rows"] == 75 and saved["test_rows"] == 3
    f = saved["findings"][0]
    assert set(f) == {"check", "severity", "count", "summary", "suggestion", "examples"}
    assert {"row", "text", "label"} <= set(f["examples"][0])
    severities = [x["severity"] for x in saved["findings"]]
    assert severities == sorted(severities, key=lambda s: s != "warning")  # warnings first


def test_clean_data_has_no_findings_and_tfidf_skips_tokens(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "clean.csv", sentiment_rows(80))
    report = inspect_data(data=str(data), model="tfidf").report
    assert report["findings"] == []
    assert report["length"]["tokenizer"] is None and "skipped" in report["length"]["note"]


def test_one_row_works_and_says_too_few(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "one.csv", [("a single review", "pos")])
    report = inspect_data(data=str(data), model="tfidf").report
    assert report["rows"] == 1
    few = finding(report, "too_few_rows")
    assert few["summary"].startswith("only 1 usable row (text and label): too few to split")


def test_jsonl_rows_are_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    lines = [json.dumps({"text": t, "label": y}) for t, y in sentiment_rows(30)]
    lines += [json.dumps({"text": "", "label": "pos"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = inspect_data(data=str(path), model="tfidf").report
    assert rows_of(finding(report, "empty_text")) == [31]
    assert report["row_numbers"].startswith("row numbers are line numbers")


def test_bad_input_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(DataError, match="nope.csv: no such file. Check the path"):
        inspect_data(data=str(tmp_path / "nope.csv"))
    data = write_csv(tmp_path / "d.csv", sentiment_rows(30))
    other = write_csv(tmp_path / "o.csv", [("x", "pos")], header=("review", "label"))
    with pytest.raises(DataError, match="o.csv: has no column 'text' .*Give both files the same"):
        inspect_data(data=str(data), test=str(other), model="tfidf")
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert main(["inspect", "--data", str(data), "--model", "tfidf",
                 "--out", str(tmp_path / "afile")]) == 2
    assert "--out " in capsys.readouterr().err
    with pytest.raises(ConfigError, match="max_length: must be between 8 and 8192, got 4"):
        inspect_data(data=str(data), max_length=4)
    assert main(["inspect", "--data", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv: no such file" in capsys.readouterr().err


def test_building_blocks() -> None:
    assert normalize_for_near_duplicates("Great   film!!! 10/10") == "greatfilm1010"
    assert script_of("a") == "Latin" and script_of("中") == "Han" and script_of("ж") == "Cyrillic"
    assert script_of("5") is None and script_of("!") is None
    assert main_script("hello 世界 world") == "Latin"


def test_train_warnings_from_the_numbers_train_has() -> None:
    data = {"class_counts": {"a": 300, "b": 20, "c": 5}, "class_weights": None,
            "cleaning": {"rows_in": 400, "dropped_conflicting_labels": 4, "dropped_duplicates": 30},
            "over_max_length": {"train": 60}, "max_length": 64, "truncation": "head+tail",
            "mostly_unknown_tokens": {"texts": 40}}
    warnings = train_warnings(data, 300, "single")
    assert len(warnings) == 6
    assert warnings[0].startswith("class imbalance: 'a' has 300 examples, 'c' 5 (60.0x)")
    assert "not weighed" in warnings[0]
    assert "'c' (5)" in warnings[1]
    assert "4 rows were dropped because their text also appears with another label" in warnings[2]
    assert "30 of 400 rows were exact duplicates" in warnings[3]
    assert "60 of 300 training texts are longer than 64 tokens" in warnings[4]
    assert "mostly unknown tokens" in warnings[5]
    assert train_warnings({"class_counts": {"a": 50, "b": 40}}, 90, "single") == []


def test_default_model_is_the_one_train_would_pick(tmp_path: Path, tiny_model_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from lmforge.models import registry

    asked: list[str] = []
    monkeypatch.setattr(registry, "resolve_model_dir",  # the tiny BERT instead of converting e5
                        lambda model: asked.append(model) or tiny_model_dir)
    rows = [(f"这部手机我非常喜欢，第{i}次购买", "pos" if i % 2 else "neg") for i in range(40)]
    data = write_csv(tmp_path / "zh.csv", rows)
    report = inspect_data(data=str(data)).report
    assert asked == ["multilingual-e5-small"]
    assert report["model"]["name"] == report["length"]["tokenizer"] == "multilingual-e5-small"
    assert report["model"]["reason"].startswith("--model default: 100% of the letters are "
                                                "Chinese/Japanese/Korean (at least 30%)")
    assert main(["inspect", "--data", str(data)]) == 0
    assert "  model: multilingual-e5-small (--model default: 100%" in capsys.readouterr().out
    asked.clear()
    inspect_data(data=str(data), model="m3e-small")  # a name given is used as given
    assert asked == ["m3e-small"]


def test_mostly_long_texts_get_the_window_advice() -> None:
    from lmforge.inspect.checks import Row, check_lengths

    rows = [Row(i + 2, f"text {i}", "a") for i in range(10)]
    mostly_long = check_lengths(rows, [300] * 6 + [50] * 4, 128, "MiniLM")
    assert mostly_long is not None and mostly_long.severity == "warning"
    assert "--long-text window" in mostly_long.suggestion and "news-topics" in mostly_long.suggestion
    few_long = check_lengths(rows, [300] + [50] * 9, 128, "MiniLM")
    assert few_long is not None and few_long.suggestion.startswith("Raise --max-length")
    assert "--long-text window" in few_long.suggestion
    assert check_lengths(rows, [50] * 10, 128, "MiniLM") is None


def test_train_and_inspect_share_one_leakage_definition() -> None:
    from lmforge.data.clean import Examples
    from lmforge.data.split import find_leakage
    from lmforge.inspect.checks import Row, check_leakage

    train = ["Great film!", "A dull plot.", "Loved it", "Superb cast"]
    test = ["great film", "A dull plot.", "loved it!!!", "Something new", "great  film"]
    counted = find_leakage({"train": Examples(train, ["x"] * 4, "single"),
                            "test": Examples(test, ["x"] * 5, "single")})
    finding = check_leakage([Row(i + 2, t, "x") for i, t in enumerate(train)],
                            [Row(i + 2, t, "x") for i, t in enumerate(test)], "test.csv")
    assert counted == {"train/test": 4} and finding is not None and finding.count == 4
    assert finding.summary.startswith("1 texts of test.csv are identical to texts of the "
                                      "training data, and 3 more differ only in case")
    warnings = train_warnings({"leakage": counted}, 4, "single")
    assert warnings == ["leakage: 4 texts of the test split are also in the train split "
                        "(identical, or differing only in case, punctuation or spacing): "
                        "scores on test will be optimistic. Remove them from one side; "
                        "`lmforge inspect --data FILE --test FILE` lists them."]
