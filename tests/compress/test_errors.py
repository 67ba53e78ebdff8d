"""Bad input to the commands: the exact message a user reads, exit code 2, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.compress.conftest import FAST_BENCH_FLAGS, run_cli


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = run_cli(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    # the message is the last line (transformers may draw a progress bar before it)
    last = err.rstrip("\n").split("\n")[-1]
    assert last.startswith("error: "), err
    return last + "\n"


def test_export_of_a_missing_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(["export", str(tmp_path / "nope"), "--onnx", "--out", str(tmp_path / "out")],
                capsys)
    assert f"run directory '{tmp_path / 'nope'}' does not exist" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [
    ["export", "{run}", "--onnx", "--out", "{out}"],
    ["compress", "prune", "{run}", "--heads", "0.3", "--out", "{out}"],
    ["compare", "{run}"],
    ["distill", "--teacher", "{run}", "--student", "layers:1", "--data", "x.csv", "--out", "{out}"],
])
def test_a_folder_that_is_not_a_run_dir(command: list[str], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "just-a-folder"
    folder.mkdir()
    argv = [a.format(run=folder, out=tmp_path / "out") for a in command]
    err = fails(argv, capsys)
    assert (f"'{folder}' is not an lmforge run directory: model, config.yaml, metrics.json "
            "missing") in err
    assert not (tmp_path / "out").exists()


def test_export_of_a_model_dir_without_tokenizer(tiny_run: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                 "special_tokens_map.json"):
        (run / "model" / name).unlink(missing_ok=True)
    err = fails(["export", str(run), "--onnx", "--int8", "--out", str(tmp_path / "out")], capsys)
    assert (f"'{run / 'model'}' has no tokenizer files (tokenizer.json, vocab.txt, ...). An "
            "exported model must ship with its tokenizer") in err
    assert not (tmp_path / "out").exists()


def test_export_of_an_onnx_run(tiny_run: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "model" / "model.onnx").write_bytes(b"")
    err = fails(["export", str(run), "--onnx", "--out", str(tmp_path / "out")], capsys)
    assert "already holds an ONNX model (model/model.onnx)" in err


def test_heads_fraction_of_one(tiny_run: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(["compress", "prune", str(tiny_run), "--heads", "1.0", "--out",
                 str(tmp_path / "out")], capsys)
    assert err == (
        "error: invalid prune settings: heads: the fraction of heads to remove must be between 0 "
        "and 1 (exclusive), got 1.0; removing every head would leave no attention at all. "
        "Try --heads 0.3\n"
    )
    assert not (tmp_path / "out").exists()


def test_prune_needs_exactly_one_method_and_reports_all_problems(
        tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(["compress", "prune", str(tiny_run), "--heads", "0.5", "--layers", "1",
                 "--epochs", "-1", "--out", str(tmp_path / "out")], capsys)
    assert "epochs: must be >= 0, got -1" in err
    assert "give exactly one of --heads FRACTION or --layers N" in err


def test_removing_every_layer(tiny_run: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(["compress", "prune", str(tiny_run), "--layers", "2", "--out",
                 str(tmp_path / "out")], capsys)
    assert "--layers 2: the model has 2 layers and at least one must stay; remove at most 1." in err


@pytest.mark.parametrize("student, message", [
    ("layers:2", "--student layers:2: the student would not be smaller than the teacher, which "
                 "has 2 layers. Use layers:N with N < 2."),
    ("config:hidden=64,heads=4", "--student config:hidden=64,heads=4 has "),
])
def test_student_bigger_than_teacher(student: str, message: str, tiny_run: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import sentiment_rows, write_csv

    data = write_csv(tmp_path / "d.csv", sentiment_rows(10))
    err = fails(["distill", "--teacher", str(tiny_run), "--student", student, "--data", str(data),
                 "--out", str(tmp_path / "out"), *FAST_BENCH_FLAGS], capsys)
    assert message in err
    if student.startswith("config"):
        assert "a student must be smaller than its teacher" in err
    assert not (tmp_path / "out").exists()


def test_export_refuses_an_existing_out(tiny_run: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").mkdir()
    err = fails(["export", str(tiny_run), "--onnx", "--out", str(tmp_path / "out")], capsys)
    assert "already exists. Choose another --out, or pass --overwrite" in err


def test_export_cli_prints_the_table(tiny_run: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["export", str(tiny_run), "--onnx", "--int8", "--out", str(tmp_path / "out"),
                    *FAST_BENCH_FLAGS])
    out = capsys.readouterr().out
    assert code == 0
    assert "| ONNX int8 | onnx-int8 |" in out
    assert f"run directory: {tmp_path / 'out'}" in out
