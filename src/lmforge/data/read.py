"""Read a table from CSV, TSV, JSONL, Parquet or plain text, sniffing the encoding.

Every reader returns a DataFrame whose ``attrs`` say where each row came from
(``file_row``/``row_name``), so later stages can name the row a user must fix.
"""

from __future__ import annotations

import json
import logging
import os
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.errors import DataError

log = logging.getLogger(__name__)

FORMATS = {
    ".csv": "CSV", ".tsv": "TSV", ".tab": "TSV", ".jsonl": "JSONL", ".ndjson": "JSONL",
    ".parquet": "Parquet", ".txt": "text",
}
SUPPORTED = tuple(FORMATS)
SNIFF_BYTES = 8192
# GBK decodes almost any byte soup (Latin-1 "très" is valid GBK), so a GBK reading
# is only believed when most non-ASCII characters are common Chinese (GB2312).
MIN_GB2312_SHARE = 0.6
SNIFF_CHARS = 1_000_000
EXCEL_HINT = "in Excel: File > Save As > CSV UTF-8"
EMPTY_FIX = {
    "CSV": "Add a header row and data rows.", "TSV": "Add a header row and data rows.",
    "JSONL": 'Add one JSON object per line, like {"text": ..., "label": ...}.',
    "text": "Add one text per line.", "Parquet": "Re-export the table.",
}


def read_table(path: str | os.PathLike[str]) -> Any:
    """A DataFrame of the file's rows; CSV/TSV cells are strings, blanks are missing."""
    path = Path(path)
    kind = file_kind(path)
    if kind == "Parquet":
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty. {EMPTY_FIX[kind]}")
        df = _read_parquet(path)
    else:
        raw = path.read_bytes()
        if not raw.strip():
            raise DataError(f"{path}: the file is empty. {EMPTY_FIX[kind]}")
        encoding, text = _decode(raw, path, kind)
        log.info("%s: read as %s, encoding %s", path, kind, encoding)
        if kind == "JSONL":
            df = _read_jsonl(text, path)
        elif kind == "text":
            df = _read_lines(text)
        else:
            df = _read_delimited(text, path, "\t" if kind == "TSV" else ",")
        df.attrs["encoding"] = encoding
    if len(df.columns) == 0:
        raise DataError(f"{path}: has no columns. {EMPTY_FIX[kind]}")
    if len(df) == 0:
        columns = ", ".join(str(c) for c in df.columns)
        if kind == "Parquet":
            raise DataError(f"{path}: has columns ({columns}) but no rows. Write the table with "
                            "its rows.")
        raise DataError(f"{path}: has a header ({columns}) but no data rows. Add rows below "
                        "the header.")
    return df


def file_kind(path: Path) -> str:
    """The format of ``path`` ("CSV", "TSV", "JSONL", "Parquet" or "text"), or a DataError
    when it is missing, a directory or of another type."""
    if not path.exists():
        raise DataError(f"{path}: no such file. Check the path (relative paths start from "
                        f"{Path.cwd()}).")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file. Pass a CSV, TSV, JSONL, "
                        "Parquet or .txt file.")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        hint = f" For Excel workbooks, save the sheet as CSV ({EXCEL_HINT})." if suffix in (
            ".xlsx", ".xls", ".xlsm", ".ods") else ""
        raise DataError(f"{path}: unsupported file type '{suffix or '(none)'}'. Supported: "
                        f"{', '.join(SUPPORTED)}.{hint}")
    return FORMATS[suffix]


# -- where rows came from ---------------------------------------------------------------

def file_row(df: Any, position: int) -> int:
    """File row (CSV: header is row 1) or line (JSONL, .txt) of the position-th row of ``df``.

    A DataFrame built in memory counts like a CSV: its first row is row 2.
    """
    numbers = df.attrs.get("row_numbers")
    if numbers is not None:
        return _unpack(numbers)[position]
    return position + int(df.attrs.get("row_offset", 2))


def file_rows(df: Any) -> list[int]:
    """``file_row`` of every row, computed once."""
    numbers = df.attrs.get("row_numbers")
    if numbers is not None:
        return list(_unpack(numbers))
    offset = int(df.attrs.get("row_offset", 2))
    return list(range(offset, offset + len(df)))


def row_name(df: Any, position: int) -> str:
    """'row 4' (CSV, TSV, Parquet) or 'line 4' (JSONL, .txt), for messages."""
    return f"{df.attrs.get('row_word', 'row')} {file_row(df, position)}"


def _set_rows(df: Any, numbers: Sequence[int], word: str) -> None:
    # Contiguous numbers are stored as an offset. Gapped ones (blank lines were
    # skipped) as bytes: pandas deep-copies attrs on every column access, and a
    # tuple of 100k ints would cost ~40 ms a copy where bytes cost nothing.
    df.attrs["row_word"] = word
    if len(numbers) and numbers[-1] - numbers[0] != len(numbers) - 1:
        df.attrs["row_numbers"] = array("q", numbers).tobytes()
    else:
        df.attrs["row_offset"] = numbers[0] if len(numbers) else 1


def _unpack(packed: bytes) -> array:
    numbers = array("q")
    numbers.frombytes(packed)
    return numbers


# -- encodings ---------------------------------------------------------------------------

def sniff_encoding(raw: bytes, path: Path) -> tuple[str, str]:
    """(encoding name, decoded text): UTF-8 (BOM or not), UTF-16 with a BOM, else GBK/GB18030
    if it reads as Chinese."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return "utf-8-sig", raw[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _undecodable(path, raw, exc.start + 3) from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode Text" export
        try:
            return "utf-16", raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: starts like UTF-16 text but cannot be decoded as UTF-16 "
                            f"(bad bytes at offset {exc.start + 2}). Re-save the file as UTF-8 "
                            f"({EXCEL_HINT}).") from exc
    try:
        return "utf-8", raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise _undecodable(path, raw, first_bad) from None
    if _reads_as_chinese(text):
        return "gb18030", text
    raise _undecodable(path, raw, first_bad)


def _reads_as_chinese(text: str) -> bool:
    import re
    from collections import Counter

    counts = Counter(re.findall(r"[^\x00-\x7f]", text[:SNIFF_CHARS]))
    if not counts:
        return False
    common = 0
    for char, count in counts.items():
        try:
            char.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += count
    return common / sum(counts.values()) >= MIN_GB2312_SHARE


def _undecodable(path: Path, raw: bytes, offset: int) -> DataError:
    line = raw.count(b"\n", 0, offset) + 1
    return DataError(
        f"{path}: cannot decode the bytes at offset {offset} as UTF-8 (nor as GBK/GB18030). "
        f"Re-save the file as UTF-8 ({EXCEL_HINT}); the first bad byte is on line {line}."
    )


def _decode(raw: bytes, path: Path, kind: str) -> tuple[str, str]:
    head = raw[:SNIFF_BYTES]
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in head and not utf16:
        what = ("it is a zip archive (an Excel .xlsx workbook?)" if head.startswith(b"PK\x03\x04")
                else "it contains NUL bytes, so it is binary")
        fix = ("Pass a UTF-8 text file." if kind == "text" else f"Save it as text ({EXCEL_HINT}), "
               "or pass a .parquet file for binary tables.")
        raise DataError(f"{path}: not a valid {kind} file: {what}. {fix}")
    return sniff_encoding(raw, path)


# -- formats -----------------------------------------------------------------------------

def _read_parquet(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        df = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a valid Parquet file ({exc}). Re-export it, or save the "
                        "table as CSV.") from exc
    df.columns = [str(c) for c in df.columns]
    df.attrs["encoding"] = "parquet"
    _set_rows(df, range(1, len(df) + 1), "row")
    return df


def _read_lines(text: str) -> Any:
    import pandas as pd

    # split on "\n" only: str.splitlines() would also cut at \u2028, \x1c and friends
    numbered = [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), start=1)]
    kept = [(n, line) for n, line in numbered if line.strip()]
    df = pd.DataFrame({"text": [line for _, line in kept]}, dtype=object)
    _set_rows(df, [n for n, _ in kept], "line")
    return df


def _read_jsonl(text: str, path: Path) -> Any:
    import pandas as pd

    records = []
    lines = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        records.append(json_record(line, number, path))
        lines.append(number)
    df = pd.DataFrame.from_records(records)
    df.columns = [str(c) for c in df.columns]
    _set_rows(df, lines, "line")
    return df


def json_record(line: str, number: int, path: Any) -> dict[str, Any]:
    """Line ``number`` of a JSONL file as its object, or a DataError naming the line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {number} is not valid JSON ({exc.msg} at column "
                        f"{exc.colno}). Each line must be one JSON object.") from exc
    if not isinstance(record, dict):
        raise DataError(f"{path}: line {number} is a JSON {type(record).__name__}, not an "
                        'object like {"text": ..., "label": ...}. Each line must be one '
                        "JSON object.")
    return record


def _read_delimited(text: str, path: Path, sep: str) -> Any:
    skipped = 0  # blank lines above the header
    while (end := text.find("\n")) >= 0 and not text[:end].strip():
        text = text[end + 1:]
        skipped += 1
    header = text[: text.find("\n")] if "\n" in text else text
    df = _parse_delimited(text, path, header_separator(header, sep, path))
    df, blank = _blanks_dropped(df)
    _set_rows(df, [i + 2 + skipped for i in range(len(blank)) if not blank[i]], "row")
    return df


def header_separator(header: str, sep: str, path: Any) -> str:
    """``sep``, or ';' for a "CSV" whose header has semicolons and no comma."""
    if sep == "," and "," not in header and ";" in header:
        # Excel in many European locales writes ';'-separated "CSV"
        log.info("%s: the header is separated by ';', reading the file as ';'-separated", path)
        return ";"
    return sep


def _blanks_dropped(df: Any) -> tuple[Any, Any]:
    """``df`` with its column names stripped, blank cells missing and blank rows dropped, and
    which rows were blank (blank lines were kept so that positions map to file rows)."""
    df.columns = [str(c).strip() for c in df.columns]
    for name in df.columns:
        column = df[name]
        df[name] = column.mask(column.str.strip() == "")
    blank = df.isna().all(axis=1).to_numpy()
    if blank.any():
        df = df.loc[~blank].reset_index(drop=True)
    return df, blank


def _parse_delimited(text: str, path: Path, sep: str) -> Any:
    import io
    import warnings

    import pandas as pd

    kind = {"\t": "TSV", ";": "';'-separated CSV"}.get(sep, "CSV")
    try:
        with warnings.catch_warnings():
            # index_col=False makes pandas warn (not guess an index column) when the first
            # data row has more fields than the header; we want that to be an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                               index_col=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty. Add a header row and data rows.") from exc
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        problem = _locate_problem(text, sep, str(exc)) or str(exc).strip()
        what = {"\t": "a tab", ";": "a semicolon"}.get(sep, "a comma")
        raise DataError(f"{path}: malformed {kind}: {problem}. A field that contains {what}, a "
                        'double quote or a line break must be in double quotes, with quotes '
                        'inside doubled (""). Fix that line or re-export the file.') from exc


def _locate_problem(text: str, sep: str, pandas_message: str) -> str | None:
    """Where pandas' complaint is, in words, with the line a text editor shows.

    pandas counts records, not lines, and its "EOF inside string" row is 0-based; the csv
    module's ``line_num`` counts physical lines.
    """
    import csv
    import io

    unclosed = "EOF inside string" in pandas_message
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=unclosed)
    width = None
    last_end = 0
    try:
        for record in reader:
            start = last_end + 1
            last_end = reader.line_num
            if not record:
                continue
            if width is None:
                width = len(record)
            elif len(record) > width and not unclosed:
                return f"line {start} has {len(record)} fields, but the header has {width}"
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return f"line {last_end + 1} opens a double quote that is never closed"
        if "field larger than field limit" in str(exc):
            return None
        return f"line {last_end + 1}: {exc}"
    return None
