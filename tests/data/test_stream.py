"""Prediction input read in chunks: cells as read, rows numbered as in the file, the same
columns and inputs as the whole-file reader."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lmforge.data.stream import chunk_inputs, input_columns, literal_input, open_input
from lmforge.errors import DataError


def read_all(path: Path | str, chunk_rows: int, **options) -> tuple[list[str], list]:
    with open_input(path, chunk_rows, **options) as stream:
        chunks = list(stream.chunks)
        return stream.columns, chunks


def test_csv_chunks_keep_cells_and_file_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('\n id ,text,label\n1,"  <b>Hi</b>  there ",pos\n\n2,"two\nlines",neg\n'
                    '3,,neg\n4,four,\n5,five,pos\n', encoding="utf-8")
    columns, chunks = read_all(path, 2)
    assert columns == ["id", "text", "label"]  # names stripped, as read_table does
    assert [len(c) for c in chunks] == [1, 2, 2]  # the blank line is skipped, not a row
    records = [r for c in chunks for r in c.records]
    assert records[0] == {"id": "1", "text": "  <b>Hi</b>  there ", "label": "pos"}
    assert records[1]["text"] == "two\nlines" and records[2]["text"] == ""
    assert [row for c in chunks for row in c.rows] == [3, 5, 6, 7, 8]
    assert chunks[1].where(0) == "row 5"


def test_jsonl_text_and_parquet(tmp_path: Path) -> None:
    import pandas as pd

    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "a", "n": 1}\n\n{"text": "b", "tags": ["x"]}\n{"text": "c"}\n')
    with open_input(jsonl, 1) as stream:
        assert stream.columns == ["text", "n"]  # the keys of the first chunk
        records = [r for c in stream.chunks for r in c.records]
    assert records == [{"text": "a", "n": 1}, {"text": "b", "tags": ["x"]}, {"text": "c"}]

    text = tmp_path / "in.txt"
    text.write_text("one \r\n\n  two\n", encoding="utf-8")
    columns, chunks = read_all(text, 1)
    assert columns == ["text"] and [c.records[0]["text"] for c in chunks] == ["one ", "  two"]
    assert [c.rows for c in chunks] == [[1], [3]]

    parquet = tmp_path / "in.parquet"
    pd.DataFrame({"id": range(7), "text": [f"t{i}" for i in range(7)]}).to_parquet(
        parquet, row_group_size=3)
    with open_input(parquet, 2) as stream:
        assert stream.total_rows == 7
        chunks = list(stream.chunks)
    assert [r["id"] for c in chunks for r in c.records] == list(range(7))
    assert [row for c in chunks for row in c.rows] == list(range(1, 8))


def test_stdin_is_read_lazily_and_may_be_empty() -> None:
    stream = open_input("-", 2, stdin=io.StringIO(""))
    assert stream.columns == ["text"] and list(stream.chunks) == []
    stream = open_input("-", 2, stdin=io.StringIO("a\n\nb\nc\n"))
    assert [[r["text"] for r in c.records] for c in stream.chunks] == [["a", "b"], ["c"]]


@pytest.mark.parametrize(("encoding", "content"), [
    ("utf-16", "text\tlabel\ncafé\tpos\n"), ("gb18030", "text,label\n电影很好看,pos\n"),
    ("utf-8-sig", "text,label\ncafé,pos\n")])
def test_the_encoding_is_sniffed(tmp_path: Path, encoding: str, content: str) -> None:
    path = tmp_path / ("in.tsv" if "\t" in content else "in.csv")
    path.write_bytes(content.encode(encoding))
    columns, chunks = read_all(path, 10)
    assert columns == ["text", "label"]
    assert chunks[0].records[0]["text"] == content.split("\n")[1].split(content[4])[0]


def test_a_big_head_is_sniffed_on_whole_lines(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import lmforge.data.stream as stream_module

    monkeypatch.setattr(stream_module, "SNIFF_HEAD", 1001)  # cuts inside a 3-byte character
    path = tmp_path / "in.csv"
    path.write_bytes(("text,label\n" + "电影很好看,pos\n" * 200).encode("utf-8"))
    with open_input(path, 150) as stream:
        assert stream.first.records[0] == {"text": "电影很好看", "label": "pos"}
        assert sum(len(c) for c in stream.chunks) == 200


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", "", "the file is empty. Add a header row and data rows."),
    ("header.csv", "id,text\n", "has a header (id, text) but no data rows."),
    ("bad.jsonl", '{"text": "a"}\n[1]\n', "line 2 is a JSON list, not an object"),
    ("bad.csv", "text\na\nb,c\n", "malformed CSV at or after row 3: .*Expected 1 fields in line 3, saw 2"),
    ("blank.txt", "\n\n", "the file is empty. Add one text per line."),
])
def test_unreadable_input_fails_before_output(tmp_path: Path, name: str, content: str,
                                              message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")
                       if "*" not in message else message):
        read_all(path, 1)


def test_inputs_are_cleaned_joined_and_paired(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,title,body\n1,<b>A</b>,first  body\n2,,second\n", encoding="utf-8")
    with open_input(path, 10) as stream:
        joined = input_columns(stream, {"text_col": "title,body"})
        assert joined.text_columns == ("title", "body") and not joined.pair
        assert chunk_inputs(stream.first, joined, str(path)) == ["A\ue001first body",
                                                                  "\ue001second"]
        detected = input_columns(stream, {"text_col": "review"})  # not there: detected
        assert detected.text == "body"
        paired = input_columns(stream, {"pair": "title,body"})
        with pytest.raises(DataError, match=r"in.csv: row 3, column 'title' is empty, but this "
                           "model reads sentence pairs"):
            chunk_inputs(stream.first, paired, str(path))
        with pytest.raises(DataError, match="lacks the column\\(s\\) 'a', 'b' of the run's "
                           "sentence pairs \\(a,b\\); its columns are: id, title, body"):
            input_columns(stream, {"pair": "a,b"})


def test_a_literal_text_and_pair() -> None:
    one = literal_input("Hello <i>world</i>")
    assert input_columns(one, {"text_col": "review"}).text == "text"
    assert chunk_inputs(one.first, input_columns(one, {}), "--text") == ["Hello world"]
    pair = literal_input("a", "b")
    assert chunk_inputs(pair.first, input_columns(pair, {"pair": "s1,s2"}), "--text") == [
        "a\ue000b"]
    with pytest.raises(DataError, match="--text-pair: this model reads one text"):
        input_columns(pair, {})
    assert json.dumps(pair.first.records) == '[{"text": "a", "text_pair": "b"}]'
