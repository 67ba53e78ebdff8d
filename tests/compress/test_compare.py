"""`lmforge compare`: everything checked before timing, speed with its spread, the load,
and accuracy per class."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.compress import compare as compare_module
from lmforge.compress.measure import BenchSettings, Measurement
from lmforge.errors import DataError
from tests.compress.conftest import FAST_BENCH, FAST_BENCH_FLAGS, run_cli
from tests.helpers import train_tfidf_run


def test_runs_and_labels_are_checked_before_anything_is_timed(
        tfidf_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = train_tfidf_run(tmp_path / "topics", [(f"text about {label} number {i}", label)
                                                  for i in range(40)
                                                  for label in ("sport", "tech")])

    def no_timing(*args: object) -> None:
        raise AssertionError("timed before the runs were checked")

    monkeypatch.setattr("lmforge.compress.measure.time_rounds", no_timing)
    with pytest.raises(DataError, match=r"cannot compare these runs \(nothing was timed\): "
                                        r"run: .* label\(s\) 'neg', 'pos' are not among the "
                                        r"model's labels \(sport, tech\)"):
        compare_module.compare([tfidf_run, other], bench=BenchSettings(**FAST_BENCH))


def test_speed_comes_with_its_spread_the_load_and_per_class_scores(
        tfidf_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = compare_module.compare([tfidf_run, tfidf_run],
                                    bench=BenchSettings(**FAST_BENCH, rounds=3))
    for row in result.rows:
        assert row.rounds == 3
        assert row.throughput_min <= row.throughput <= row.throughput_max
        assert row.latency_p50_min_ms <= row.latency_p50_max_ms
    assert any("load average" in note for note in result.notes)
    out = tmp_path / "cmp.md"
    assert run_cli(["compare", str(tfidf_run), "--rounds", "2", "--out", str(out),
                    *FAST_BENCH_FLAGS]) == 0
    printed = capsys.readouterr().out
    assert "Per class (test F1):" in printed and "| neg |" in printed and "| pos |" in printed
    assert "load average" in printed
    report = out.read_text(encoding="utf-8")
    assert "timed in 2 rounds, interleaved" in report and "## Per class (test F1)" in report
    assert run_cli(["compare", str(tfidf_run), "--rounds", "0"]) == 2


def _row(name: str, throughput: float, backend: str = "pytorch",
         parameters: int = 1000) -> Measurement:
    return Measurement(name=name, run_dir=name, backend=backend, parameters=parameters,
                       size_mb=1.0, latency_p50_ms=1.0, latency_p95_ms=2.0,
                       throughput=throughput, accuracy=None, macro_f1=None, test_n=None,
                       test_source=None)


def test_same_architecture_far_apart_in_speed_is_a_warning() -> None:
    rows = [_row("bbc", 100.0), _row("demo", 560.0), _row("onnx", 900.0, "onnx-fp32")]
    notes = compare_module.speed_notes(rows, {"before": 3.5, "after": 4.0}, cpus=2)
    assert notes[0].startswith("warning: the machine was busy while timing (load average "
                               "3.50 before, 4.00 after, 2 CPUs)")
    assert notes[1].startswith("warning: demo and bbc have the same architecture (pytorch, "
                               "1,000 parameters) but 5.6x different throughput")
    assert len(notes) == 2  # the ONNX run is another architecture
    quiet = compare_module.speed_notes([_row("a", 100.0), _row("b", 150.0)],
                                       {"before": 0.1, "after": 0.2}, cpus=2)
    assert quiet == ["the machine was quiet while timing (load average 0.10 before, 0.20 "
                     "after, 2 CPUs)."]
