"""`lmforge runs list DIR` and `lmforge runs diff RUN RUN`."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforge.cli import main
from tests.conftest import sentiment_rows, write_csv


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("runs")
    data = write_csv(tmp / "d.csv", sentiment_rows(200))
    root = tmp / "runs"
    assert main(["-q", "train", "--model", "tfidf", "--data", str(data), "--out",
                 str(root / "a")]) == 0
    assert main(["-q", "train", "--model", "tfidf", "--data", str(data), "--out",
                 str(root / "group" / "b"), "--seed", "3", "--augment", "eda:2"]) == 0
    (root / ".c.tmp-123").mkdir()  # a run being written is not listed
    (root / ".c.tmp-123" / "config.yaml").write_text("task: single\n")
    return root


def test_runs_list(two_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "list", str(two_runs)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["run", "task", "model", "method", "test", "acc", "test",
                                "macro-F1", "date", "(UTC)", "lmforge"]
    assert lines[2].split()[:4] == ["a", "single", "tfidf", "tfidf"]
    assert lines[3].split()[:5] == ["group/b", "single", "tfidf", "tfidf", "+"]
    assert ".c.tmp" not in out
    assert "settings that differ between these runs: augment, seed" in out


def test_runs_are_dated_by_their_manifest_and_record_the_version(
        two_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import csv
    import io
    import json
    import os
    import shutil

    from lmforge.version import __version__

    manifest = json.loads((two_runs / "a" / "run.json").read_text())
    assert manifest["lmforge_version"] == __version__ and manifest["created"]
    # a copy made later, its files touched now: still dated when it was made
    copy = tmp_path / "copied"
    shutil.copytree(two_runs / "a", copy / "a")
    os.utime(copy / "a" / "metrics.json", (2e9, 2e9))
    manifest["created"] = "2025-01-02T03:04:05+00:00"
    (copy / "a" / "run.json").write_text(json.dumps(manifest))
    assert main(["runs", "list", str(copy), "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["date"] == "2025-01-02 03:04" and row["lmforge_version"] == __version__
    assert row["test_accuracy"] is not None and row["run"] == "a"
    assert main(["runs", "list", str(two_runs), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["run"] for r in rows] == ["a", "group/b"]


def test_runs_diff(two_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "diff", str(two_runs / "a"), str(two_runs / "group" / "b")]) == 0
    out = capsys.readouterr().out
    assert [line.split()[:4] for line in out.splitlines() if line.startswith("* ")] == [
        ["*", "augment", "null", '"eda:2"'], ["*", "seed", "0", "3"]]
    assert "test accuracy" in out


def test_runs_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "list", str(tmp_path / "nope")]) == 2
    assert "is not a directory. Pass the folder holding your run directories" in \
        capsys.readouterr().err
    assert main(["runs", "diff", str(tmp_path), str(tmp_path)]) == 2
    assert "is not an lmforge run directory" in capsys.readouterr().err
    assert main(["runs", "list", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "no run directories found\n"
