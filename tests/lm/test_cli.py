"""``lmforge ngram ...`` end to end through ``add_ngram_cli`` on an argparse parser, with
the exit codes and error texts ``lmforge.cli.main`` would give."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from lmforge.errors import LmforgeError
from lmforge.lm.cli import add_ngram_cli
from tests.lm.conftest import chain_corpus, write_lines


def run(argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, error) the way lmforge.cli.main runs a handler."""
    parser = argparse.ArgumentParser(prog="lmforge")
    stdout = io.StringIO()
    add_ngram_cli(parser.add_subparsers(dest="command", required=True), stdout=stdout)
    args = parser.parse_args(argv)
    try:
        return args.handler(args), stdout.getvalue(), ""
    except LmforgeError as exc:
        return exc.exit_code, stdout.getvalue(), str(exc)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("ngram-cli")
    corpus = write_lines(tmp / "train.txt", chain_corpus(300, seed=3))
    text = tmp / "test.txt"
    text.write_text("the cat sat on the mat\n\nthe zebra ran home\n", encoding="utf-8")
    model = tmp / "model.arpa"
    code, out, err = run(["ngram", "train", "--corpus", str(corpus), "--order", "3",
                          "--smoothing", "kneser-ney", "--out", str(model)])
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote {model}: order 3, kneser-ney, ")
    return {"corpus": corpus, "text": text, "model": model, "tmp": tmp}


def test_score_prints_log10_prob_tab_sentence(files) -> None:
    code, out, _ = run(["ngram", "score", "--model", str(files["model"]), "--text-file", str(files["text"])])
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2  # the blank line is skipped
    score, sentence = lines[1].split("\t")
    assert sentence == "the zebra ran home" and float(score) < 0


def test_score_reads_stdin(files, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("the cat\n"))
    code, out, _ = run(["ngram", "score", "--model", str(files["model"]), "--text-file", "-"])
    assert code == 0 and out.endswith("\tthe cat\n")


def test_eval_prints_perplexity_and_oov_rate_and_writes_json(files) -> None:
    metrics_file = files["tmp"] / "metrics.json"
    code, out, _ = run(["ngram", "eval", "--model", str(files["model"]), "--text-file", str(files["text"]),
                        "--json", str(metrics_file)])
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert names[:3] == ["perplexity", "perplexity_excluding_oov", "oov_rate"]
    metrics = json.loads(metrics_file.read_text())
    assert metrics["oov"] == 1 and metrics["tokens"] == 10 and metrics["oov_rate"] == pytest.approx(0.1)
    # one precision for every float (perplexity 893 next to 417.271 was the complaint)
    values = dict(line.split() for line in out.split("\n\n")[0].splitlines())
    assert values["oov_rate"] == "0.1000"
    assert all(len(values[k].split(".")[1]) == 4 for k in ("perplexity", "perplexity_excluding_oov"))
    assert "perplexity_excluding_oov leaves the OOV words out" in out


def test_eval_literal_text_json_format_and_old_file_spelling(files, caplog) -> None:
    """--text is the text itself; --text FILE (the old spelling) still reads the file, warning."""
    code, out, _ = run(["ngram", "eval", "--model", str(files["model"]), "--text",
                        "the cat sat on the mat\nthe zebra ran home", "--format", "json"])
    assert code == 0 and json.loads(out)["oov"] == 1 and json.loads(out)["sentences"] == 2
    with caplog.at_level("WARNING"):
        code, old, _ = run(["ngram", "score", "--model", str(files["model"]), "--text",
                            str(files["text"])])
    assert code == 0 and old.endswith("\tthe zebra ran home\n")
    assert "--text FILE is deprecated" in caplog.text


def test_generate(files) -> None:
    code, out, _ = run(["ngram", "generate", "--model", str(files["model"]), "--num", "3", "--seed", "1",
                        "--prompt", "the"])
    assert code == 0 and len(out.splitlines()) == 3
    assert all(line.split()[0] == "the" for line in out.splitlines())


def test_char_level_train_and_score(tmp_path: Path) -> None:
    corpus = tmp_path / "zh.txt"
    corpus.write_text("我们喜欢北京\n北京欢迎你\n我们 都是 朋友\n", encoding="utf-8")
    model = tmp_path / "zh.arpa"
    assert run(["ngram", "train", "--corpus", str(corpus), "--level", "char", "--order", "2",
                "--smoothing", "add-k", "--k", "0.1", "--out", str(model)])[0] == 0
    text = tmp_path / "t.txt"
    text.write_text("北京 欢迎 我们\n", encoding="utf-8")
    code, out, _ = run(["ngram", "score", "--model", str(model), "--text-file", str(text)])
    assert code == 0 and out.endswith("\t北京 欢迎 我们\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["--order", "0"], "invalid ngram training config: order: must be >= 1, got 0"),
    (["--smoothing", "laplace"], "smoothing: unknown 'laplace'; valid: kneser-ney, modified-kneser-ney, "
     "katz-backoff, stupid-backoff, add-k"),
    (["--min-count", "0", "--order", "-1"], "order: must be >= 1, got -1; min_count: must be >= 1, got 0"),
])
def test_bad_training_options(argv: list[str], message: str, files) -> None:
    code, _, err = run(["ngram", "train", "--corpus", str(files["corpus"]),
                        "--out", str(files["tmp"] / "x.arpa"), *argv])
    assert code == 2 and message in err
    assert not (files["tmp"] / "x.arpa").exists()


def test_missing_and_empty_corpus(tmp_path: Path) -> None:
    code, _, err = run(["ngram", "train", "--corpus", str(tmp_path / "nope.txt"), "--out",
                        str(tmp_path / "m.arpa")])
    assert code == 2
    assert err == f"{tmp_path / 'nope.txt'}: no such corpus file. Check the path given to --corpus."
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    code, _, err = run(["ngram", "train", "--corpus", str(empty), "--out", str(tmp_path / "m.arpa")])
    assert code == 2 and err == (f"{empty}: the corpus file has no text (every line is blank). "
                                 "Give a file with one sentence per line.")


def test_model_that_is_not_arpa(tmp_path: Path, files) -> None:
    bogus = tmp_path / "model.arpa"
    bogus.write_text("# a comment is fine\nnot an arpa file\n", encoding="utf-8")
    code, _, err = run(["ngram", "eval", "--model", str(bogus), "--text-file", str(files["text"])])
    assert code == 2
    assert err.startswith(f"{bogus}, line 2: expected '\\data\\' (the start of an ARPA model), found "
                          "'not an arpa file'. Is this an ARPA language model?")


def test_help_comes_from_the_config_docstrings(capsys) -> None:
    with pytest.raises(SystemExit):
        run(["ngram", "train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--smoothing kneser-ney|modified-kneser-ney|katz-backoff|stupid-backoff|add-k" in out
    assert "--min-count MIN_COUNT Words seen fewer times in the corpus are mapped to <unk>" in out
    assert "--order ORDER Longest n-gram (3 = trigram). (default: 3)" in out


def test_registering_the_commands_does_not_import_numpy() -> None:
    import subprocess
    import sys

    code = ("import argparse, sys; from lmforge.lm.cli import add_ngram_cli; "
            "add_ngram_cli(argparse.ArgumentParser().add_subparsers()); print('numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
