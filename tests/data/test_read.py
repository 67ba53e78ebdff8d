from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from lmforge.data.read import file_row, read_table, row_name
from lmforge.errors import DataError

CSV = "text,label\nGood film,pos\nBad film,neg\n"
ZH = "text,label\n这个酒店非常干净，服务很好,pos\n房间太小了，隔音很差,neg\n"


def test_every_format_reads_the_same_table(tmp_path: Path) -> None:
    rows = [("Good film", "pos"), ("Bad film", "neg")]
    (tmp_path / "a.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "a.tsv").write_text(CSV.replace(",", "\t"), encoding="utf-8")
    (tmp_path / "a.tab").write_text(CSV.replace(",", "\t"), encoding="utf-8")
    jsonl = "\n".join(json.dumps({"text": t, "label": lab}) for t, lab in rows)
    (tmp_path / "a.jsonl").write_text(jsonl, encoding="utf-8")
    (tmp_path / "a.ndjson").write_text(jsonl + "\n", encoding="utf-8")
    pd.DataFrame(rows, columns=["text", "label"]).to_parquet(tmp_path / "a.parquet")
    for name in ("a.csv", "a.tsv", "a.tab", "a.jsonl", "a.ndjson", "a.parquet"):
        df = read_table(tmp_path / name)
        assert list(df.columns) == ["text", "label"], name
        assert list(df["text"]) == ["Good film", "Bad film"], name
        assert list(df["label"]) == ["pos", "neg"], name


def test_txt_is_one_text_per_line_without_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\r\n\n  \ntwo, with a comma\nthree\u2028same line\n",
                                    encoding="utf-8")
    df = read_table(tmp_path / "a.txt")
    assert list(df.columns) == ["text"]
    assert list(df["text"]) == ["one", "two, with a comma", "three\u2028same line"]
    assert [row_name(df, i) for i in range(3)] == ["line 1", "line 4", "line 5"]


def test_csv_cells_are_strings_and_blanks_missing(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("text,label,id\nGood,  ,007\n,neg,NA\n", encoding="utf-8")
    df = read_table(tmp_path / "a.csv")
    assert pd.isna(df["label"][0]) and pd.isna(df["text"][1])
    assert list(df["id"]) == ["007", "NA"]  # no number or NA guessing


def test_csv_quoting_follows_rfc_4180(tmp_path: Path) -> None:
    text = 'text,label\n"Good, really ""good"" film\nsecond line",pos\nplain,neg\n'
    (tmp_path / "q.csv").write_text(text, encoding="utf-8")
    df = read_table(tmp_path / "q.csv")
    assert df["text"][0] == 'Good, really "good" film\nsecond line'
    assert [file_row(df, i) for i in range(2)] == [2, 3]  # spreadsheet rows, not lines


def test_blank_lines_are_skipped_but_rows_keep_their_numbers(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("text,label\na,x\n\n , \nb,y\n\n", encoding="utf-8")
    df = read_table(tmp_path / "a.csv")
    assert list(df["text"]) == ["a", "b"]
    assert [file_row(df, 0), file_row(df, 1)] == [2, 5]
    assert row_name(df, 1) == "row 5"
    (tmp_path / "b.csv").write_text("\n \r\ntext,label\na,x\n", encoding="utf-8")
    df = read_table(tmp_path / "b.csv")
    assert list(df.columns) == ["text", "label"] and row_name(df, 0) == "row 4"
    (tmp_path / "a.jsonl").write_text('{"text": "a"}\n\n{"text": "b"}\n', encoding="utf-8")
    assert row_name(read_table(tmp_path / "a.jsonl"), 1) == "line 3"


def test_semicolon_separated_csv_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "eu.csv").write_text("text;label\nGood, really;pos\nBad;neg\n", encoding="utf-8")
    df = read_table(tmp_path / "eu.csv")
    assert list(df.columns) == ["text", "label"] and df["text"][0] == "Good, really"


def test_utf8_bom_is_stripped_from_the_first_column_name(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + CSV.encode("utf-8"))
    df = read_table(tmp_path / "bom.csv")
    assert list(df.columns) == ["text", "label"] and df.attrs["encoding"] == "utf-8-sig"


def test_gbk_csv_is_detected_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "gbk.csv").write_bytes(ZH.encode("gbk"))
    with caplog.at_level(logging.INFO, logger="lmforge.data.read"):
        df = read_table(tmp_path / "gbk.csv")
    assert list(df["text"]) == ["这个酒店非常干净，服务很好", "房间太小了，隔音很差"]
    assert df.attrs["encoding"] == "gb18030"
    assert "gbk.csv: read as CSV, encoding gb18030" in caplog.text


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    (tmp_path / "u16.tsv").write_bytes(CSV.replace(",", "\t").encode("utf-16"))
    df = read_table(tmp_path / "u16.tsv")
    assert list(df["label"]) == ["pos", "neg"] and df.attrs["encoding"] == "utf-16"


@pytest.mark.parametrize("text", ["text,label\ncafé crème,pos\n",
                                  "text,label\nÇa va très bien, señor,pos\n"])
def test_latin1_fails_with_the_offset_of_the_first_bad_byte(tmp_path: Path, text: str) -> None:
    # the second text is valid GBK byte for byte, but reads as rare characters, not Chinese
    data = text.encode("latin-1")
    (tmp_path / "latin.csv").write_bytes(data)
    offset = min(data.index(bytes([b])) for b in data if b > 127)
    with pytest.raises(DataError, match=rf"latin.csv: cannot decode the bytes at offset {offset} "
                       r"as UTF-8 \(nor as GBK/GB18030\)\. Re-save the file as UTF-8 \(in Excel: "
                       r"File > Save As > CSV UTF-8\); the first bad byte is on line 2\."):
        read_table(tmp_path / "latin.csv")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", r"empty.csv: the file is empty. Add a header row and data rows."),
        ("blank.tsv", b"  \n\n", r"blank.tsv: the file is empty. Add a header row"),
        ("blank.jsonl", b"\n\n", r"blank.jsonl: the file is empty. Add one JSON object per line"),
        ("empty.txt", b" \n", r"empty.txt: the file is empty. Add one text per line."),
        ("empty.parquet", b"", r"empty.parquet: the file is empty. Re-export the table."),
        ("objects.jsonl", b"{}\n{}\n", r"objects.jsonl: has no columns. Add one JSON object"),
        ("header.csv", b"text,label\n",
         r"header.csv: has a header \(text, label\) but no data rows. Add rows below the header."),
        ("header_blank.csv", b"text,label\n\n , \n", r"has a header \(text, label\) but no data"),
        ("binary.csv", b"text,label\n\x00\x01\x02binary",
         r"binary.csv: not a valid CSV file: it contains NUL bytes, so it is binary. Save it as "
         r"text \(in Excel"),
        ("sheet.csv", b"PK\x03\x04\x14\x00\x00\x00",
         r"sheet.csv: not a valid CSV file: it is a zip archive \(an Excel .xlsx workbook\?\)"),
        ("nul.txt", b"one\x00two\n", r"nul.txt: not a valid text file"),
        ("bad.parquet", b"not parquet at all",
         r"bad.parquet: not a valid Parquet file \(.*\). Re-export it, or save the table as CSV."),
        ("bad.jsonl", b'{"text": "ok"}\n\n{broken\n',
         r"bad.jsonl: line 3 is not valid JSON \(Expecting property name enclosed in double "
         r"quotes at column 2\). Each line must be one JSON object."),
        ("list.jsonl", b'{"text": "ok"}\n["a", "b"]\n',
         r"list.jsonl: line 2 is a JSON list, not an object like"),
        ("data.xlsx", b"whatever",
         r"data.xlsx: unsupported file type '.xlsx'. Supported: .csv, .tsv, .tab, .jsonl, "
         r".ndjson, .parquet, .txt. For Excel workbooks, save the sheet as CSV"),
        ("README", b"whatever", r"README: unsupported file type '\(none\)'"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_table(tmp_path / name)


def test_parquet_without_rows_names_its_columns(tmp_path: Path) -> None:
    pd.DataFrame({"text": pd.Series([], dtype=str), "label": pd.Series([], dtype=str)}).to_parquet(
        tmp_path / "none.parquet")
    with pytest.raises(DataError, match=r"none.parquet: has columns \(text, label\) but no rows"):
        read_table(tmp_path / "none.parquet")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.csv: no such file. Check the path \(relative paths "
                       "start from"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r": is a directory, not a data file. Pass a CSV, TSV"):
        read_table(tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("ragged.csv", "text,label\na,b\nc,d,e,f\n", "line 3 has 4 fields, but the header has 2"),
        ("first.csv", "text,label\na,b,c\nd,e\n", "line 2 has 3 fields, but the header has 2"),
        ("after_multiline.csv", 'text,label\n"two\nlines",x\nq,y,z\n',
         "line 4 has 3 fields, but the header has 2"),
        ("unclosed.csv", 'text,label\na,b\n"never closed,x\nmore\n',
         "line 3 opens a double quote that is never closed"),
        ("ragged.tsv", "text\tlabel\na\tb\tc\n", "line 2 has 3 fields, but the header has 2"),
        ("lenient.csv", 'text,label\n"ab"c,x\nd,e,f\n', "line 3 has 3 fields, but the header has 2"),
    ],
)
def test_malformed_csv_names_the_line(tmp_path: Path, name: str, content: str, problem: str) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    kind = "TSV" if name.endswith(".tsv") else "CSV"
    with pytest.raises(DataError, match=rf"{name}: malformed {kind}: {problem}\. A field that "
                       "contains a (comma|tab), a double quote or a line break must be in double "
                       "quotes"):
        read_table(tmp_path / name)
