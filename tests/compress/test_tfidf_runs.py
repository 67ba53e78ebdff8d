"""`--model tfidf` runs in compare (a row of their own), export, prune and distill (a clear
refusal, exit code 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.compress.compare import compare_runs
from lmforge.compress.measure import BenchSettings
from tests.compress.conftest import FAST_BENCH, FAST_BENCH_FLAGS, run_cli


def _model_bytes(run: Path) -> int:
    return sum(p.stat().st_size for p in (run / "model").iterdir())


def test_compare_gives_a_tfidf_run_its_row(tfidf_run: Path, tiny_run: Path) -> None:
    from lmforge.models.structure import count_parameters
    from lmforge.runs.load import load_run

    tfidf_row, torch_row = compare_runs([tfidf_run, tiny_run], bench=BenchSettings(**FAST_BENCH))
    vocabulary = json.loads((tfidf_run / "model" / "tfidf.json").read_text("utf-8"))["vocabulary"]
    metrics = json.loads((tfidf_run / "metrics.json").read_text(encoding="utf-8"))
    assert tfidf_row.backend == "tfidf" and torch_row.backend == "pytorch"
    # binary logistic regression: one learned row of coefficients plus its intercept
    assert tfidf_row.parameters == len(vocabulary) + 1
    assert torch_row.parameters == count_parameters(load_run(tiny_run).model)
    assert tfidf_row.size_mb == pytest.approx(_model_bytes(tfidf_run) / 1e6)
    assert 0 < tfidf_row.latency_p50_ms <= tfidf_row.latency_p95_ms and tfidf_row.throughput > 0
    # the first run's test split is the one its metrics.json was scored on
    assert tfidf_row.test_n == metrics["test"]["n"] == torch_row.test_n
    assert tfidf_row.accuracy == pytest.approx(metrics["test"]["accuracy"])
    assert tfidf_row.macro_f1 == pytest.approx(metrics["test"]["macro_f1"])
    assert torch_row.accuracy is not None


def test_compare_cli_table_and_report(tfidf_run: Path, tiny_run: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp" / "cmp.md"
    assert run_cli(["compare", str(tiny_run), str(tfidf_run), "--out", str(out),
                    *FAST_BENCH_FLAGS]) == 0
    table = capsys.readouterr().out
    (line,) = [row for row in table.splitlines() if "| tfidf |" in row]
    size = line.split(" | ")[3]
    assert size == f"{_model_bytes(tfidf_run) / 1e6:.3f}"  # kilobytes: three decimals, not 0.0
    assert "a TF-IDF model: its n-gram vocabulary and weights" in out.read_text(encoding="utf-8")


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = run_cli(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    return err.rstrip("\n").split("\n")[-1]


def test_export_of_a_tfidf_run_says_there_is_nothing_to_export(
        tfidf_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    size = f"{_model_bytes(tfidf_run) / 1000:.0f} kB"
    err = _refused(["export", str(tfidf_run), "--onnx", "--out", str(tmp_path / "out")], capsys)
    assert err == (
        f"error: '{tfidf_run}' is a TF-IDF run (`lmforge train --model tfidf`): there is no neural "
        f"network in it to export to ONNX, and it is already small ({size}) and fast on a CPU. "
        f"`lmforge serve {tfidf_run}` and `lmforge predict {tfidf_run}` take it as it is.")
    assert not (tmp_path / "out").exists()


def test_prune_of_a_tfidf_run_is_refused(tfidf_run: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(["compress", "prune", str(tfidf_run), "--heads", "0.5", "--out",
                    str(tmp_path / "out")], capsys)
    assert err.startswith(f"error: '{tfidf_run}' is a TF-IDF run (`lmforge train --model tfidf`): "
                          "it has no attention heads or layers to prune, and it is already small (")
    assert f"`lmforge serve {tfidf_run}` and `lmforge predict {tfidf_run}` take it" in err
    assert not (tmp_path / "out").exists()


def test_distill_from_a_tfidf_teacher_is_refused(tfidf_run: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(["distill", "--teacher", str(tfidf_run), "--student", "layers:1", "--data",
                    str(tfidf_run.parent / "reviews.csv"), "--out", str(tmp_path / "out")], capsys)
    assert err == (
        f"error: --teacher '{tfidf_run}' is a TF-IDF run (`lmforge train --model tfidf`): "
        "distillation shrinks a transformer teacher into a smaller transformer student, and a "
        "TF-IDF model is already smaller and faster than any such student. Use it as it is "
        "(`lmforge serve` / `lmforge predict` take it), or pass a transformer run as --teacher.")
    assert not (tmp_path / "out").exists()
