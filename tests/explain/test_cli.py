"""`lmforge explain` through lmforge.cli.main: output, --html/--json files, colours, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmforge.cli import main
from tests.conftest import write_csv


def test_text_to_terminal_html_and_json(trained_run: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    html, js = tmp_path / "why.html", tmp_path / "why.json"
    code = main(["explain", str(trained_run), "--text", "the film was superb",
                 "--html", str(html), "--json", str(js)])
    out = capsys.readouterr().out
    assert code == 0
    assert "text #1: Why the model said 'pos'" in out
    assert "Green words pushed it towards 'pos'" in out
    assert "details: integrated gradients; logit of 'pos' +" in out
    assert "completeness gap" in out and "superb[+" in out  # plain: stdout is not a terminal
    assert "\x1b[" not in out
    assert f"html: {html}" in out and f"json: {js}" in out
    (record,) = json.loads(js.read_text(encoding="utf-8"))
    assert record["words"] == ["the", "film", "was", "superb"] and record["target"] == "pos"
    assert record["method"] == "ig" and record["converged"] is True
    assert record["spans"][3] == [13, 19]
    page = html.read_text(encoding="utf-8")
    assert "run: why the model said what it said" in page and "superb</span>" in page
    assert "<h2>Text 1: Why the model said &#x27;pos&#x27;</h2>" in page


def test_colour_can_be_forced(trained_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(trained_run), "--text", "the film was superb", "--color",
                 "--method", "occlusion"]) == 0
    assert "\x1b[48;5;" in capsys.readouterr().out
    assert main(["explain", str(trained_run), "--text", "the film was superb", "--no-color",
                 "--method", "occlusion"]) == 0
    assert "\x1b[" not in capsys.readouterr().out


def test_data_file_gives_one_section_per_text(trained_run: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "texts.csv", [("the film was superb",), ("the plot was awful",),
                                              ("quite a boring cast",)], header=("review",))
    html = tmp_path / "page.html"
    assert main(["explain", str(trained_run), "--data", str(data), "--target", "neg",
                 "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert out.count("logit of 'neg'") == 3 and "text #3: Why the model said 'neg'" in out
    page = html.read_text(encoding="utf-8")
    assert page.count("<section") == 3 and "boring</span>" in page


def test_errors_exit_2_with_the_message(trained_run: Path, onnx_run: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(trained_run)]) == 2
    assert "error: invalid explain settings: give exactly one of --text TEXT or --data FILE" in \
        capsys.readouterr().err
    assert main(["explain", str(trained_run), "--text", "x", "--steps", "0"]) == 2
    assert "steps: must be >= 1, got 0" in capsys.readouterr().err
    assert main(["explain", str(onnx_run), "--text", "the film was superb", "--method", "ig"]) == 2
    assert "holds an ONNX model (no gradients). Use --method occlusion" in capsys.readouterr().err
    for method in ([], ["--method", "occlusion"]):  # the default on an ONNX run is occlusion
        assert main(["explain", str(onnx_run), "--text", "the film was superb", *method]) == 0
        assert "details: occlusion (each word left out)" in capsys.readouterr().out
    assert main(["explain", str(trained_run), "--text", "   "]) == 2
    assert "error: text #0 is empty" in capsys.readouterr().err
    assert main(["explain", str(trained_run), "--text", "x", "--target", "meh"]) == 2
    assert "'meh' is not a label of this run; the labels are: neg, pos" in capsys.readouterr().err


def test_importing_the_package_and_its_cli_stays_light() -> None:
    code = ("import sys, lmforge.explain, lmforge.explain.cli, lmforge.explain.render; "
            "print(sorted(m for m in ('torch', 'captum', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_why_not_view_in_terminal_and_html(trained_run: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    html, js = tmp_path / "why.html", tmp_path / "why.json"
    assert main(["explain", str(trained_run), "--text", "the film was superb", "--method",
                 "occlusion", "--why-not", "neg", "--html", str(html), "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "text #1: Why the model said 'pos'\n" in out
    assert "text #1: Why the model said 'pos' and not 'neg'" in out
    assert "rather than 'neg'" in out and "logit of 'pos' minus that of 'neg'" in out
    plain, versus = json.loads(js.read_text(encoding="utf-8"))
    assert plain["versus"] is None and versus["versus"] == "neg"
    assert versus["target_logit"] > plain["target_logit"]  # pos minus neg, and neg < 0 here
    page = html.read_text(encoding="utf-8")
    assert page.count("<section") == 2
    assert "Why the model said &#x27;pos&#x27; and not &#x27;neg&#x27;" in page
    assert main(["explain", str(trained_run), "--text", "x", "--why-not", "meh"]) == 2
    assert "why_not: 'meh' is not a label of this run" in capsys.readouterr().err
