from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.data.read import read_table
from lmforge.errors import DataError

CSV = "text,label\nGood film,pos\nBad film,neg\n"


def test_csv_tsv_jsonl_parquet_txt(tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "a.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "a.tsv").write_text(CSV.replace(",", "\t"), encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(
        "\n".join(json.dumps({"text": t, "label": lab}) for t, lab in
                  [("Good film", "pos"), ("Bad film", "neg")]), encoding="utf-8")
    pd.DataFrame({"text": ["Good film", "Bad film"], "label": ["pos", "neg"]}).to_parquet(
        tmp_path / "a.parquet")
    for name in ("a.csv", "a.tsv", "a.jsonl", "a.parquet"):
        df = read_table(tmp_path / name)
        assert list(df["text"]) == ["Good film", "Bad film"], name
        assert list(df["label"]) == ["pos", "neg"], name
    (tmp_path / "a.txt").write_text("one\n\ntwo\n", encoding="utf-8")
    assert list(read_table(tmp_path / "a.txt")["text"]) == ["one", "two"]


def test_blank_cells_are_missing(tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "a.csv").write_text("text,label\nGood,  \n,neg\n", encoding="utf-8")
    df = read_table(tmp_path / "a.csv")
    assert pd.isna(df["label"][0]) and pd.isna(df["text"][1])


def test_utf8_bom_and_gbk_are_detected(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + CSV.encode("utf-8"))
    df = read_table(tmp_path / "bom.csv")
    assert list(df.columns) == ["text", "label"] and df.attrs["encoding"] == "utf-8-sig"
    zh = "text,label\n这个酒店非常干净，服务很好,pos\n房间太小了，隔音很差,neg\n"
    (tmp_path / "gbk.csv").write_bytes(zh.encode("gbk"))
    df = read_table(tmp_path / "gbk.csv")
    assert df["text"][0] == "这个酒店非常干净，服务很好" and df.attrs["encoding"] == "gb18030"


def test_undecodable_bytes_name_the_offset(tmp_path: Path) -> None:
    data = "text,label\ncafé crème,pos\n".encode("latin-1")
    (tmp_path / "latin.csv").write_bytes(data)
    offset = data.index(b"\xe9")
    with pytest.raises(DataError, match=rf"latin.csv: cannot decode the bytes at offset {offset} "
                       r"as UTF-8 \(nor as GBK/GB18030\)\. Re-save the file as UTF-8"):
        read_table(tmp_path / "latin.csv")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty.csv: the file is empty. Add a header row and data rows."),
        ("blank.csv", b"  \n\n", "blank.csv: the file is empty"),
        ("header.csv", b"text,label\n",
         r"header.csv: has a header \(text, label\) but no data rows. Add rows below the header."),
        ("binary.csv", b"PK\x03\x04\x00\x00\x00binary",
         r"binary.csv: looks like a binary file \(NUL bytes\), not csv text"),
        ("bad.parquet", b"not parquet at all", "bad.parquet: not a valid Parquet file"),
        ("bad.jsonl", b'{"text": "ok"}\n{broken\n', "bad.jsonl: line 2 is not valid JSON"),
        ("data.xlsx", b"whatever", r"data.xlsx: unsupported file type '.xlsx'. Supported: .csv"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_table(tmp_path / name)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.csv: no such file. Check the path"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory, not a data file"):
        read_table(tmp_path)


def test_malformed_csv_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "ragged.csv").write_text("text,label\na,b\nc,d,e,f\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"ragged.csv: malformed CSV: .*line 3"):
        read_table(tmp_path / "ragged.csv")
