"""Read a table from CSV, TSV, JSONL, Parquet or plain text, sniffing the encoding."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from lmforge.errors import DataError

log = logging.getLogger(__name__)

SUPPORTED = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".parquet", ".txt")


def sniff_encoding(raw: bytes, path: Path) -> tuple[str, str]:
    """(encoding name, decoded text). UTF-8 (BOM or not), else GBK/GB18030 if it reads as Chinese."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return "utf-8-sig", raw[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _undecodable(path, exc.start + 3) from exc
    try:
        return "utf-8", raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise _undecodable(path, first_bad) from None
    non_ascii = [c for c in text if ord(c) > 127]
    cjk = sum(1 for c in non_ascii if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
              or "\uff00" <= c <= "\uffef")
    if non_ascii and cjk / len(non_ascii) >= 0.7:
        return "gb18030", text
    raise _undecodable(path, first_bad)


def _undecodable(path: Path, offset: int) -> DataError:
    return DataError(
        f"{path}: cannot decode the bytes at offset {offset} as UTF-8 (nor as GBK/GB18030). "
        "Re-save the file as UTF-8 (in Excel: Save As > CSV UTF-8)."
    )


def read_table(path: str | os.PathLike[str]) -> Any:
    """A DataFrame of the file's rows; CSV/TSV cells are strings, blanks are missing."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file. Check the path (relative paths start from "
                        f"{Path.cwd()}).")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file. Pass a CSV, TSV, JSONL or "
                        "Parquet file.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DataError(f"{path}: unsupported file type '{suffix or '(none)'}'. Supported: "
                        f"{', '.join(SUPPORTED)}.")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: the file is empty. Add a header row and data rows.")
    if suffix == ".parquet":
        df = _read_parquet(path)
    else:
        if b"\x00" in raw[:8192]:
            raise DataError(f"{path}: looks like a binary file (NUL bytes), not {suffix[1:]} "
                            "text. Pass a text file, or a .parquet file for binary tables.")
        encoding, text = sniff_encoding(raw, path)
        log.info("%s: encoding %s", path, encoding)
        if suffix in (".jsonl", ".ndjson"):
            df = _read_jsonl(text, path)
        elif suffix == ".txt":
            import pandas as pd

            df = pd.DataFrame({"text": [line for line in text.splitlines() if line.strip()]})
        else:
            df = _read_delimited(text, path, "\t" if suffix in (".tsv", ".tab") else ",")
        df.attrs["encoding"] = encoding
    if len(df) == 0:
        columns = ", ".join(str(c) for c in df.columns)
        raise DataError(f"{path}: has a header ({columns}) but no data rows. Add rows below "
                        "the header.")
    return df


def _read_parquet(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        df = pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a valid Parquet file ({exc}). Re-export it, or save as "
                        "CSV.") from exc
    df.attrs["encoding"] = "parquet"
    return df


def _read_delimited(text: str, path: Path, sep: str) -> Any:
    import io

    import pandas as pd

    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty. Add a header row and data rows.") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed {'TSV' if sep == chr(9) else 'CSV'}: {exc}. Check "
                        "quoting on that line (fields with commas or newlines need double "
                        "quotes).") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df.apply(lambda col: col.map(lambda v: None if v.strip() == "" else v))


def _read_jsonl(text: str, path: Path) -> Any:
    import pandas as pd

    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number} is not valid JSON ({exc.msg}). Each line "
                            "must be one JSON object.") from exc
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {number} is a JSON {type(record).__name__}, not an "
                            'object like {"text": ..., "label": ...}.')
        records.append(record)
    return pd.DataFrame.from_records(records)
