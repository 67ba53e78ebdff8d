"""The CLI as a user runs it: exit codes, stdout, the error text on stderr."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from lmforge.cli import main
from tests.conftest import sentiment_rows, write_csv

FAST = ["--epochs", "2", "--lr", "2e-3", "--batch-size", "16", "--max-length", "32",
        "--no-show-progress"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    data = write_csv(tmp / "reviews.csv", sentiment_rows(200))
    assert main(["-q", "train", "--data", str(data), "--model", str(tiny_model_dir),
                 "--out", str(tmp / "run"), *FAST]) == 0
    return tmp / "run"


def test_train_prints_report(tmp_path: Path, tiny_model_dir: Path, sentiment_csv: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-q", "train", "--data", str(sentiment_csv), "--model", str(tiny_model_dir),
                 "--out", str(tmp_path / "run"), *FAST])
    out = capsys.readouterr().out
    assert code == 0
    assert "accuracy" in out and f"run directory: {tmp_path / 'run'}" in out


def test_config_yaml_reproduces_the_run(cli_run: Path, tmp_path: Path) -> None:
    assert main(["-q", "train", "--config", str(cli_run / "config.yaml"),
                 "--out", str(tmp_path / "again")]) == 0
    first = json.loads((cli_run / "metrics.json").read_text())["test"]
    second = json.loads((tmp_path / "again" / "metrics.json").read_text())["test"]
    assert second["accuracy"] == first["accuracy"]
    assert second["loss"] == pytest.approx(first["loss"], rel=1e-4)


def test_evaluate_prints_and_writes_json(cli_run: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "eval.csv", sentiment_rows(30, seed=3))
    assert main(["-q", "evaluate", str(cli_run), "--data", str(data),
                 "--json", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["n"] == 30 and "per_class" in saved
    assert f"{saved['accuracy']:.4f}" in out


def test_predict_csv_to_stdout(cli_run: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "texts.txt"
    data.write_text("excellent superb film\nawful boring plot\n", encoding="utf-8")
    assert main(["-q", "predict", str(cli_run), "--data", str(data)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["text", "predicted_label", "prob_neg", "prob_pos"]
    assert [r["text"] for r in rows] == ["excellent superb film", "awful boring plot"]
    assert abs(float(rows[0]["prob_neg"]) + float(rows[0]["prob_pos"]) - 1) < 1e-4


def test_predict_stdin_jsonl_to_file(cli_run: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("great wonderful\n\nterrible dull\n"))
    out = tmp_path / "pred.jsonl"
    assert main(["-q", "predict", str(cli_run), "--data", "-", "--format", "jsonl",
                 "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == ["great wonderful", "terrible dull"]
    assert list(rows[0]) == ["text", "predicted_label", "prob_neg", "prob_pos"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "{tmp}/missing.csv", "--out", "{tmp}/r"], "missing.csv"),
        (["train", "--data", "{tmp}/x.csv", "--out", "{tmp}/r", "--epochs", "0"],
         "epochs: must be >= 1"),
        (["train", "--recipe", "sentiment-fr", "--out", "{tmp}/r"],
         "unknown recipe 'sentiment-fr'. Available recipes: news-topics, sentiment-en, "
         "sentiment-en-demo, sentiment-zh, tiny"),
        (["evaluate", "{tmp}", "--data", "{tmp}/x.csv"], "is not an lmforge run directory"),
        (["predict", "{tmp}/nope", "--data", "-"], "run directory '{tmp}/nope' does not exist"),
    ],
)
def test_errors_exit_2_with_a_message(args: list[str], message: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message.replace("{tmp}", str(tmp_path)) in err


def test_unknown_config_key_lists_valid_keys(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: a.csv\nlearning_rate: 0.1\n")
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'learning_rate'" in err and "valid keys are: data, out" in err


def test_existing_run_dir_exit_2(cli_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", "x.csv", "--out", str(cli_run)]) == 2
    assert "already exists. Choose another --out, or pass --overwrite" in capsys.readouterr().err


def test_help_comes_from_field_docstrings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Peak learning rate of AdamW. (default: 0.0001)" in out
