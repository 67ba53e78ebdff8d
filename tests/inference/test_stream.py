"""``lmforge predict`` streamed: every input column passed through unchanged, rows in input
order across chunks, --keep/--drop-columns, --text, the label-accuracy line, and a closed
pipe that ends quietly."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmforge.cli import main
from lmforge.inference.stream import LabelTally, csv_cell
from tests.conftest import sentiment_rows
from tests.helpers import train_tfidf_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tfidf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tfidf_run(tmp_path_factory.mktemp("stream"))


@pytest.fixture
def table(tmp_path: Path) -> tuple[Path, list[list[str]]]:
    """10 rows: an id, a text with HTML and odd spacing (which the model sees cleaned), the
    true label, and a column after it."""
    rows = [[f"id-{i}", f"  <b>{text}</b>,  #{i} ", label, str(i * i)]
            for i, (text, label) in enumerate(sentiment_rows(10, seed=5))]
    rows[3][2] = ""  # one row without a true label
    path = tmp_path / "in.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label", "extra"])
        writer.writerows(rows)
    return path, rows


def predict_csv(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[list[str]], str]:
    assert main(["predict", *argv]) == 0, capsys.readouterr().err
    printed = capsys.readouterr()
    return list(csv.reader(io.StringIO(printed.out))), printed.err


def test_every_input_column_passes_through_unchanged_in_order(
        tfidf_run: Path, table: tuple[Path, list[list[str]]],
        capsys: pytest.CaptureFixture[str]) -> None:
    import lmforge

    path, rows = table
    out, err = predict_csv(capsys, str(tfidf_run), "--data", str(path), "--chunk-rows", "3")
    assert out[0] == ["id", "text", "label", "extra", "predicted_label", "prob_neg", "prob_pos"]
    assert [row[:4] for row in out[1:]] == rows  # cells as read, the true label kept
    # the same predictions as the whole file at once (4 chunks of 3, 3, 3, 1 rows)
    expected = lmforge.predict(tfidf_run, str(path))
    assert [row[4] for row in out[1:]] == [r["label"] for r in expected]
    assert [float(row[6]) for row in out[1:]] == pytest.approx(
        [r["prob_pos"] for r in expected], abs=1e-6)
    right = sum(row[4] == row[2] for row in out[1:] if row[2])
    assert (f"9 of 10 rows have a label (column 'label'): {right / 9:.1%} correct — `lmforge "
            "evaluate` gives the full report") in err


def test_jsonl_keeps_each_records_keys_and_values(
        tfidf_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "in.jsonl"
    records = [{"n": 1, "text": "great superb film", "tags": ["a", "b"]},
               {"text": "awful boring plot", "n": 2, "meta": {"k": None}},
               {"n": 3, "text": "excellent", "flag": True}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert main(["-q", "predict", str(tfidf_run), "--data", str(path), "--format", "jsonl",
                 "--chunk-rows", "2"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [{k: v for k, v in row.items() if k in record} for row, record in
            zip(out, records, strict=True)] == records
    assert [list(row)[-3:] for row in out] == [["predicted_label", "prob_neg", "prob_pos"]] * 3
    assert [row["predicted_label"] for row in out] == ["pos", "neg", "pos"]
    # CSV of the same input: the first chunk's keys are the header, lists written as JSON
    rows, err = predict_csv(capsys, str(tfidf_run), "--data", str(path), "--chunk-rows", "2")
    assert rows[0] == ["n", "text", "tags", "meta", "predicted_label", "prob_neg", "prob_pos"]
    assert rows[1][:4] == ["1", "great superb film", '["a", "b"]', ""]
    assert "key 'flag' first appears on line 3, after the CSV header was written" in err


def test_keep_and_drop_columns(tfidf_run: Path, table: tuple[Path, list[list[str]]],
                               capsys: pytest.CaptureFixture[str]) -> None:
    path, rows = table
    out, _ = predict_csv(capsys, str(tfidf_run), "--data", str(path), "--keep-columns",
                         "extra,id")
    assert out[0] == ["extra", "id", "predicted_label", "prob_neg", "prob_pos"]
    assert [row[:2] for row in out[1:]] == [[r[3], r[0]] for r in rows]
    out, _ = predict_csv(capsys, str(tfidf_run), "--data", str(path), "--drop-columns",
                         "text,extra")
    assert out[0] == ["id", "label", "predicted_label", "prob_neg", "prob_pos"]
    assert main(["predict", str(tfidf_run), "--data", str(path), "--keep-columns",
                 "id,Text,score"]) == 2
    assert capsys.readouterr().err.endswith(
        f"error: --keep-columns: 'Text', 'score' are not columns of {path}; its columns are: "
        "id, text, label, extra\n")


def test_an_earlier_prediction_is_not_overwritten_silently(
        tfidf_run: Path, table: tuple[Path, list[list[str]]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = table
    first = tmp_path / "first.csv"
    assert main(["-q", "predict", str(tfidf_run), "--data", str(path), "--out", str(first)]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    assert main(["predict", str(tfidf_run), "--data", str(first)]) == 2
    assert ("already has the column(s) predicted_label, prob_neg, prob_pos that predict adds "
            "(an earlier prediction?): pass --drop-columns predicted_label,prob_neg,prob_pos "
            "to replace them") in capsys.readouterr().err
    out, _ = predict_csv(capsys, str(tfidf_run), "--data", str(first), "--drop-columns",
                         "predicted_label,prob_neg,prob_pos")
    assert out == list(csv.reader(first.open(encoding="utf-8")))


def test_one_text_on_the_command_line(tfidf_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = predict_csv(capsys, str(tfidf_run), "--text", "a superb, wonderful film")
    assert out[0] == ["text", "predicted_label", "prob_neg", "prob_pos"]
    assert out[1][:2] == ["a superb, wonderful film", "pos"] and len(out) == 2
    with pytest.raises(SystemExit):  # --text or --data, not both
        main(["predict", str(tfidf_run), "--text", "x", "--data", "-"])
    assert "argument --data: not allowed with argument --text" in capsys.readouterr().err
    assert main(["predict", str(tfidf_run), "--text", "x", "--text-pair", "y"]) == 2
    assert "--text-pair: this model reads one text, not sentence pairs" in capsys.readouterr().err


def test_a_run_of_joined_text_columns_reads_them_and_passes_them_through(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import lmforge
    from tests.conftest import write_csv
    from tests.helpers import session_rng_kept

    rows = [(f"Title {i}", text, label) for i, (text, label) in enumerate(sentiment_rows(120))]
    train = write_csv(tmp_path / "train.csv", rows, header=("title", "body", "label"))
    with session_rng_kept():
        run = lmforge.train(data=str(train), out=str(tmp_path / "run"), model="tfidf",
                            text_col="title,body", show_progress=False).run_dir
    data = write_csv(tmp_path / "in.csv", [(f"x{i}", f" <i>T{i}</i>", text) for i, (text, _) in
                                           enumerate(sentiment_rows(7, seed=9))],
                     header=("id", "title", "body"))
    out, err = predict_csv(capsys, str(run), "--data", str(data), "--chunk-rows", "3")
    assert out[0] == ["id", "title", "body", "predicted_label", "prob_neg", "prob_pos"]
    assert out[1][:3] == ["x0", " <i>T0</i>", sentiment_rows(7, seed=9)[0][0]]
    assert [row[3] for row in out[1:]] == [r["label"] for r in lmforge.predict(run, str(data))]
    assert "text columns 'title' and 'body' (the run's)" in err


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_closed_pipe_ends_quietly(tfidf_run: Path, tmp_path: Path, fmt: str) -> None:
    """`lmforge predict ... | head -1`: the reader goes away after a line; exit 0, no traceback."""
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("id", "text")] + [(i, text) for i, (text, _) in
                                                        enumerate(sentiment_rows(4000))])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT),
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmforge", "predict", str(tfidf_run), "--data", str(path),
         "--format", fmt, "--chunk-rows", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does once it has its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert first.startswith(b"id,text,predicted_label" if fmt == "csv" else b'{"id": "0"')
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception" not in err


def test_the_tally_of_each_task() -> None:
    multi = LabelTally("multi", ("labels",), ";")
    multi.add([{"labels": "a;b"}, {"labels": "a"}, {"labels": ""}],
              [{"predicted_label": "a|b"}, {"predicted_label": "a|b"}, {"predicted_label": ""}])
    assert multi.summary(3) == ("2 of 3 rows have a label (column 'labels'): 50.0% have exactly "
                                "the right labels — `lmforge evaluate` gives the full report")
    columns = LabelTally("multi", ("a", "b"))
    columns.add([{"a": "1", "b": "0"}], [{"predicted_label": "a"}])
    assert columns.correct == 1
    regression = LabelTally("regression", ("score",))
    regression.add([{"score": "1.5"}, {"score": None}],
                   [{"predicted_value": 1.0}, {"predicted_value": 3.0}])
    assert regression.summary(2) == ("1 of 2 rows have a value (column 'score'): mean absolute "
                                     "error 0.5 — `lmforge evaluate` gives the full report")
    assert LabelTally("single", ("label",)).summary(5) is None


def test_csv_cells_are_written_as_read() -> None:
    import numpy as np

    assert [csv_cell(v) for v in ("  a ", None, float("nan"), 3, 2.5, True, ["x"],
                                  np.int64(4))] == ["  a ", "", "", 3, 2.5, "true", '["x"]', 4]


def test_long_texts_are_said_once_for_the_whole_input(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A backend notes the long texts of each call, so of each chunk: one line at the end."""
    import logging

    from lmforge.data.stream import open_input
    from lmforge.inference.long_texts import note_long_texts
    from lmforge.inference.stream import predict_stream

    def predict(texts: list[str]) -> list[dict]:
        note_long_texts(1, len(texts), 64, "head+tail")
        return [{"text": t, "label": "pos", "prob_neg": 0.0, "prob_pos": 1.0} for t in texts]

    path = tmp_path / "in.txt"
    path.write_text("".join(f"text {i}\n" for i in range(10)), encoding="utf-8")
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="lmforge"), open_input(path, 3) as stream:
        result = predict_stream(stream, predict, out, task="single", labels=["neg", "pos"],
                                settings={"max_length": 64, "truncation": "head+tail"})
    assert result.rows == 10 and len(out.getvalue().splitlines()) == 11
    long_lines = [r.getMessage() for r in caplog.records if "longer than" in r.getMessage()]
    assert long_lines == ["4 of 10 texts were longer than 64 tokens and were shortened (head+tail)"]
